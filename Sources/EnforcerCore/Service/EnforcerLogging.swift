import DaemonOptions
import Logging

/// How an enforcer's command line sets up its log: the level `--log-level`
/// (or its variable) names, standard error at that level, and a warning
/// when the decision service will not let it in.
public enum EnforcerLogging {
    /// The level named by `option` or `variable`; info when neither.
    public static func level(_ option: String?, _ variable: String, options: OptionReader) throws -> Logger.Level {
        let text = options.value(option, variable) ?? "info"
        guard let level = Logger.Level(rawValue: text) else {
            throw OptionReader.Invalid("--log-level must be one of trace, debug, info, notice, warning, error, critical; not '\(text)'")
        }
        return level
    }

    /// Logs to standard error at `level`; the program's logger.
    public static func start(_ program: String, level: Logger.Level, connection: DecisionServiceConnection) -> Logger {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: program)
        if connection.token == nil, case .h2c = connection.endpoint {
            logger.warning("no --pdp-token-file: the decision service will refuse this enforcer on its TCP listener")
        }
        return logger
    }
}
