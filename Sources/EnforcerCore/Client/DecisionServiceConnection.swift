import DaemonOptions
import Foundation
import NIOSSL

/// How an enforcer reaches the decision service, as its options say: where
/// (`--pdp`), with which token (`--pdp-token-file`, reread when it changes)
/// and, for `h2://`, which CA and client certificate. Read one way by every
/// enforcer's command line.
public struct DecisionServiceConnection: Sendable {
    public var endpoint: PDPEndpoint = .h2c(host: "127.0.0.1", port: 15010)
    public var token: String?
    /// Where `token` came from: reread when it changes.
    public var tokenFile: String?
    /// For `h2://`: CA bundle, client certificate and key (PEM files).
    public var ca: String?
    public var certificate: String?
    public var key: String?

    public init() {}

    /// From the options (or their variables, `PREFIX` + `PDP`,
    /// `PDP_TOKEN_FILE`, `PDP_CA`, `PDP_CERT`, `PDP_KEY`).
    public static func read(
        pdp: String?, tokenFile: String?, ca: String?, certificate: String?, key: String?, options: OptionReader, prefix: String
    ) throws -> DecisionServiceConnection {
        var connection = DecisionServiceConnection()
        do {
            connection.endpoint = try PDPEndpoint(parsing: options.value(pdp, prefix + "PDP") ?? "h2c://127.0.0.1:15010")
        } catch let error as PDPEndpoint.ParseError {
            throw OptionReader.Invalid(error.description)
        }
        if let file = options.value(tokenFile, prefix + "PDP_TOKEN_FILE") {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw OptionReader.Invalid("--pdp-token-file: cannot read \(file)")
            }
            connection.token = text.trimmingCharacters(in: .whitespacesAndNewlines)
            connection.tokenFile = file
            guard connection.token?.isEmpty == false else { throw OptionReader.Invalid("--pdp-token-file: \(file) is empty") }
        }
        connection.ca = options.value(ca, prefix + "PDP_CA")
        connection.certificate = options.value(certificate, prefix + "PDP_CERT")
        connection.key = options.value(key, prefix + "PDP_KEY")
        if (connection.certificate == nil) != (connection.key == nil) {
            throw OptionReader.Invalid("--pdp-cert and --pdp-key go together")
        }
        return connection
    }

    /// The TLS context for `h2://`; nil for h2c and Unix sockets.
    public func tlsContext() throws -> NIOSSLContext? {
        guard case .h2 = endpoint else { return nil }
        return try PDPClient.tlsContext(ca: ca, certificate: certificate, key: key)
    }
}
