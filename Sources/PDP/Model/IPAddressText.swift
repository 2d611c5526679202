import NIOCore

/// Canonical text of an IP address, so that `::ffff:198.18.0.1` and
/// `198.18.0.1`, or `2001:DB8::1` and `2001:db8:0::1`, have one spelling in the
/// inventory and in lookups.
enum IPAddressText {
    static func normalize(_ text: String) -> String? {
        // (Scope IDs are refused. `utf8.contains`: the String overload Foundation
        // adds goes through CFString, which showed in profiles.)
        guard !text.utf8.contains(UInt8(ascii: "%")), let address = try? SocketAddress(ipAddress: text, port: 0),
            let normal = address.ipAddress
        else { return nil }
        // An IPv4-mapped IPv6 address is the IPv4 address.
        if case .v6 = address, normal.hasPrefix("::ffff:"), normal.contains(".") {
            return String(normal.dropFirst(7))
        }
        return normal
    }
}
