import NIOCore

/// Canonical text of an IP address, so that `::ffff:198.18.0.1` and
/// `198.18.0.1`, or `2001:DB8::1` and `2001:db8:0::1`, have one spelling in the
/// inventory and in lookups.
public enum IPAddressText {
    public static func normalize(_ text: String) -> String? {
        // Every decision names its source this way: taken as it is, without
        // a round trip through inet_pton and inet_ntop (whose sprintf showed
        // in profiles of the decision API).
        if isCanonicalIPv4(text.utf8) { return text }
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

    /// Four decimal parts of 0 to 255 joined by dots, none with a leading
    /// zero: the form inet_ntop gives, and the only one inet_pton takes.
    public static func isCanonicalIPv4(_ utf8: String.UTF8View) -> Bool {
        var dots = 0
        var digits = 0
        var value = 0
        var leadingZero = false
        for byte in utf8 {
            switch byte {
            case UInt8(ascii: "."):
                guard digits > 0, dots < 3 else { return false }
                dots += 1
                digits = 0
                value = 0
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                if digits == 0 {
                    leadingZero = byte == UInt8(ascii: "0")
                } else if leadingZero {
                    return false
                }
                digits += 1
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
                guard value <= 255 else { return false }
            default:
                return false
            }
        }
        return dots == 3 && digits > 0
    }
}
