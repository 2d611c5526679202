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
}
