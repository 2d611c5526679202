import DaemonOptions
import NIOHTTP1

/// What a plain-HTTP request head says on its own, before anything is
/// asked or sent: the host it is for, or why it is refused. The framing
/// checks are those request smuggling hides behind: a request that two
/// parsers could frame differently never goes upstream.
enum HTTPRequestScreen {
    enum Verdict: Equatable {
        /// The host (lower case, no trailing dot) and the port the request named, if any.
        case forward(host: String, port: Int?)
        case refuse(String)
    }

    static func screen(_ head: HTTPRequestHead) -> Verdict {
        let headers = head.headers
        let lengths = headers["content-length"]
        let encodings = headers["transfer-encoding"]
        if lengths.count > 1 { return .refuse("Content-Length is given \(lengths.count) times") }
        if !lengths.isEmpty && !encodings.isEmpty { return .refuse("both Content-Length and Transfer-Encoding are given") }
        if let length = lengths.first, length.isEmpty || !length.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) {
            return .refuse("Content-Length is not a number")
        }
        if encodings.count > 1 || (encodings.first.map { $0.lowercased() != "chunked" } ?? false) {
            return .refuse("Transfer-Encoding other than a single 'chunked'")
        }
        for (name, value) in headers {
            if value.utf8.contains(where: { $0 == 0 || $0 == 0x0A || $0 == 0x0D }) || name.isEmpty {
                return .refuse("invalid bytes in header '\(name.prefix(40))'")
            }
        }
        guard head.version == .http1_1 || head.version == .http1_0 else { return .refuse("HTTP/\(head.version.major).\(head.version.minor) is not spoken here") }
        let hosts = headers["host"]
        if hosts.count > 1 { return .refuse("Host is given \(hosts.count) times") }
        // Absolute form (a forward proxy's request): its authority is the host.
        var authority = hosts.first
        if let absolute = Self.authority(ofAbsolute: head.uri) {
            if let host = authority, Self.split(host)?.host != Self.split(absolute)?.host {
                return .refuse("the request line's host and the Host header differ")
            }
            authority = absolute
        } else if !head.uri.hasPrefix("/") && head.uri != "*" {
            return .refuse("the request target is neither a path nor an http:// URL")
        }
        guard let authority, let (host, port) = Self.split(authority) else { return .refuse("no valid Host") }
        return .forward(host: host, port: port)
    }

    /// `host` or `host:port` (IPv6 in brackets): the host as CONNECT's is
    /// (lower case, no trailing dot, no brackets, so that one host has one
    /// verdict key however it came), of name and address bytes only.
    static func split(_ authority: String) -> (host: String, port: Int?)? {
        guard let (raw, port) = HostPort.split(optionalPort: Substring(authority)),
            let host = HostPort.normalizedHost(raw)
        else { return nil }
        let allowed = host.utf8.allSatisfy { byte in
            (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
                || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: ":") || byte == UInt8(ascii: "_")
        }
        return allowed ? (host, port) : nil
    }

    /// The authority of an absolute `http://` request target, if it is one.
    static func authority(ofAbsolute uri: String) -> String? {
        guard uri.utf8.count > 7, uri.prefix(7).lowercased() == "http://" else { return nil }
        let rest = uri.dropFirst(7)
        let end = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? rest.endIndex
        let authority = rest[..<end]
        guard !authority.isEmpty, !authority.contains("@") else { return nil }
        return String(authority)
    }

    /// The path and query of a request target (absolute form reduced to
    /// origin form), as sent upstream.
    static func originForm(_ uri: String) -> String {
        guard let authority = authority(ofAbsolute: uri) else { return uri }
        let path = uri.dropFirst(7 + authority.count)
        return path.isEmpty ? "/" : String(path)
    }
}
