import DaemonOptions
/// Where the decision service listens, as given to `--pdp`:
/// `h2c://HOST:PORT`, `h2://HOST:PORT` (TLS with ALPN h2) or `unix:///PATH`.
public enum PDPEndpoint: Sendable, Equatable, CustomStringConvertible {
    case h2c(host: String, port: Int)
    case h2(host: String, port: Int)
    case unix(path: String)

    public struct ParseError: Error, CustomStringConvertible {
        public let description: String
    }

    public init(parsing text: String) throws {
        func hostPort(_ rest: Substring) throws -> (String, Int) {
            let rest = rest.hasSuffix("/") ? rest.dropLast() : rest
            guard let (host, port) = HostPort.split(rest), !host.isEmpty, port > 0 else {
                throw ParseError(description: "--pdp '\(text)' needs HOST:PORT with a non-empty host and a port 1-65535")
            }
            return (String(host), port)
        }
        if text.hasPrefix("h2c://") {
            let (host, port) = try hostPort(text.dropFirst(6))
            self = .h2c(host: host, port: port)
        } else if text.hasPrefix("h2://") {
            let (host, port) = try hostPort(text.dropFirst(5))
            self = .h2(host: host, port: port)
        } else if text.hasPrefix("unix://") {
            let path = String(text.dropFirst(7))
            guard path.hasPrefix("/") else { throw ParseError(description: "--pdp '\(text)': a Unix socket path must be absolute (unix:///run/egress/pdp.sock)") }
            self = .unix(path: path)
        } else {
            throw ParseError(description: "--pdp '\(text)' must start with h2c://, h2:// or unix://")
        }
    }

    public var description: String {
        switch self {
        case .h2c(let host, let port): return "h2c://\(host.contains(":") ? "[\(host)]" : host):\(port)"
        case .h2(let host, let port): return "h2://\(host.contains(":") ? "[\(host)]" : host):\(port)"
        case .unix(let path): return "unix://\(path)"
        }
    }

    /// The `:authority` and `:scheme` a request carries.
    var authority: String {
        switch self {
        case .h2c(let host, let port), .h2(let host, let port): return "\(host.contains(":") ? "[\(host)]" : host):\(port)"
        case .unix: return "localhost"
        }
    }

    var scheme: String {
        if case .h2 = self { return "https" }
        return "http"
    }
}
