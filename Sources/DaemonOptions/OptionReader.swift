import Foundation

/// Reads a daemon's options: each has a command-line flag and an
/// environment variable (`--max-connections`, `EGRESS_PEP_MAX_CONNECTIONS`);
/// the flag wins, an empty variable counts as unset, and every number is
/// range-checked with an error that names the flag. One definition for both
/// daemons, whose own helpers had drifted apart.
public struct OptionReader: Sendable {
    /// What was wrong with an option, in words for the operator.
    public struct Invalid: Error, CustomStringConvertible, Sendable {
        public let description: String
        public init(_ description: String) { self.description = description }
    }

    /// The variables' common prefix (`EGRESS_PEP_`), from which a variable's
    /// flag is named in errors.
    public let prefix: String
    private let environment: [String: String]

    public init(prefix: String, environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.prefix = prefix
        self.environment = environment
    }

    /// `--flag-name` for `PREFIX_FLAG_NAME`.
    public func flagName(_ variable: String) -> String {
        "--" + variable.dropFirst(prefix.count).lowercased().replacingOccurrences(of: "_", with: "-")
    }

    /// The flag's value, else the variable's; nil when neither is set.
    public func value(_ option: String?, _ variable: String) -> String? {
        option ?? environment[variable].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// A whole number in `range`, `fallback` when unset.
    public func number(_ option: Int?, _ variable: String, default fallback: Int, in range: ClosedRange<Int>) throws -> Int {
        var result = fallback
        if let option {
            result = option
        } else if let text = value(nil, variable) {
            guard let number = Int(text) else { throw Invalid("\(variable) must be a whole number, not '\(text)'") }
            result = number
        }
        guard range.contains(result) else {
            let bounds = range.upperBound == .max ? "\(range.lowerBound) or more" : "\(range.lowerBound) to \(range.upperBound)"
            throw Invalid("\(flagName(variable)) must be \(bounds), not \(result)")
        }
        return result
    }

    /// A whole number in `range`, or nil when unset.
    public func optionalNumber(_ option: Int?, _ variable: String, in range: ClosedRange<Int>) throws -> Int? {
        guard option != nil || value(nil, variable) != nil else { return nil }
        return try number(option, variable, default: range.lowerBound, in: range)
    }

    /// A number of seconds (fractions allowed) in `range`, `fallback` when unset.
    public func seconds(_ option: Double?, _ variable: String, default fallback: Double, in range: ClosedRange<Double>) throws -> Double {
        var result = fallback
        if let option {
            result = option
        } else if let text = value(nil, variable) {
            guard let number = Double(text) else { throw Invalid("\(variable) must be a number of seconds, not '\(text)'") }
            result = number
        }
        guard range.contains(result) else {
            throw Invalid(
                "\(flagName(variable)) must be \(Self.text(range.lowerBound)) to \(Self.text(range.upperBound)) seconds, not \(Self.text(result))")
        }
        return result
    }

    /// `86400` rather than `86400.0`; fractions as they are.
    static func text(_ seconds: Double) -> String {
        seconds.rounded() == seconds && abs(seconds) < 1e15 ? String(Int64(seconds)) : String(seconds)
    }

    /// A switch: the flag, or the variable set to 1, true or yes.
    public func flag(_ option: Bool, _ variable: String) -> Bool {
        option || ["1", "true", "yes"].contains(environment[variable]?.lowercased() ?? "")
    }

    /// A repeatable option, or its variable's comma-separated values.
    public func list(_ option: [String], _ variable: String) -> [String] {
        guard option.isEmpty, let text = environment[variable] else { return option }
        return text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// `HOST:PORT` or `[V6]:PORT` with a port 0-65535, the host unbracketed.
    public func hostPort(_ text: String, flag: String) throws -> (host: String, port: Int) {
        guard let (host, port) = HostPort.split(Substring(text)) else {
            throw Invalid("\(flag) '\(text)' needs HOST:PORT with a port 0-65535")
        }
        return (String(host), port)
    }
}
