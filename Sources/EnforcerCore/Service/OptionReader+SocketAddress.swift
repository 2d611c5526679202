import DaemonOptions
import NIOCore

extension OptionReader {
    /// The largest number an enforcer's option takes: a year of seconds (the
    /// timeouts), and more than any cap or size needs.
    public static let largestNumber = 31_536_000

    /// `IP:PORT` or `[V6]:PORT` as a socket address, for `flag`; with
    /// `defaultPort`, a bare address takes that port. Names are not
    /// resolved: a listener or an upstream is an address.
    public func socketAddress(_ text: String, flag: String, defaultPort: Int? = nil) throws -> SocketAddress {
        try socketAddress(text, flag: flag, defaultPort: defaultPort, noneAllowed: false)!
    }

    /// The same, or nil for `none` (a listener that is off).
    public func socketAddressOrNone(_ text: String, flag: String) throws -> SocketAddress? {
        try socketAddress(text, flag: flag, defaultPort: nil, noneAllowed: true)
    }

    private func socketAddress(_ text: String, flag: String, defaultPort: Int?, noneAllowed: Bool) throws -> SocketAddress? {
        if noneAllowed, text == "none" { return nil }
        if let defaultPort {
            let bare = text.hasPrefix("[") && text.hasSuffix("]") ? String(text.dropFirst().dropLast()) : text
            if let address = try? SocketAddress(ipAddress: bare, port: defaultPort) { return address }
        }
        guard let (host, port) = HostPort.split(Substring(text)) else {
            throw Invalid("\(flag) '\(text)' needs IP:PORT with a port 0-65535\(noneAllowed ? ", or 'none'" : "")")
        }
        do {
            return try SocketAddress(ipAddress: String(host), port: port)
        } catch {
            throw Invalid("\(flag) '\(text)': '\(host)' is not an IP address (names are not resolved here)")
        }
    }
}
