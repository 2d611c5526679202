/// Splits `host:port` or `[v6]:port`: the one reader of that form for
/// `--pdp`, the listener options and CONNECT targets, which each add their
/// own checks of the host.
public enum HostPort {
    /// The host (without brackets) and the port, which must be a number in
    /// 0-65535; nil when there is no port or it is not one.
    public static func split(_ text: Substring) -> (host: Substring, port: Int)? {
        let host: Substring
        let port: Substring
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            let after = text[text.index(after: close)...]
            guard after.hasPrefix(":") else { return nil }
            host = text[text.index(after: text.startIndex)..<close]
            port = after.dropFirst()
        } else if let colon = text.lastIndex(of: ":") {
            host = text[..<colon]
            port = text[text.index(after: colon)...]
        } else {
            return nil
        }
        guard let number = Int(port), (0...65535).contains(number) else { return nil }
        return (host, number)
    }

    /// `host`, `[v6]`, `host:port` or `[v6]:port` (an HTTP Host): the host
    /// without brackets, and the port if there is one (1-65535).
    public static func split(optionalPort text: Substring) -> (host: Substring, port: Int?)? {
        if text.hasPrefix("["), text.hasSuffix("]") { return (text.dropFirst().dropLast(), nil) }
        guard text.contains(":") else { return (text, nil) }
        guard let (host, port) = split(text), port > 0 else { return nil }
        return (host, port)
    }

    /// A host as enforcers decide it: lower case, without a trailing dot,
    /// 1 to 253 bytes; nil otherwise.
    public static func normalizedHost(_ host: Substring) -> String? {
        var host = host.lowercased()
        if host.hasSuffix(".") { host.removeLast() }
        guard !host.isEmpty, host.utf8.count <= 253 else { return nil }
        return host
    }
}
