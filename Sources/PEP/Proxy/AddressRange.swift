import EnforcerCore
import NIOCore

/// An address range in CIDR notation (`10.0.0.0/8`, `fd00::/8`, `198.18.3.1`).
/// IPv4-mapped IPv6 addresses are compared as the IPv4 address they carry,
/// and an IPv4 range also holds the NAT64 and 6to4 forms of its addresses.
///
/// Addresses are held as 128-bit numbers (IPv4 in the low 32 bits), so that
/// checking every resolved address against every range, on every allowed
/// connection, allocates nothing.
public struct AddressRange: Sendable, Equatable, CustomStringConvertible {
    let isIPv4: Bool
    let network: UInt128
    let mask: UInt128
    let prefix: Int

    public struct ParseError: Error, CustomStringConvertible {
        public let description: String
    }

    public init(parsing text: String) throws {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = try? SocketAddress(ipAddress: String(parts[0]), port: 0), let (isIPv4, value) = Self.number(address) else {
            throw ParseError(description: "'\(text)' is not an address range: '\(parts[0])' is not an IPv4 or IPv6 address")
        }
        let bits = isIPv4 ? 32 : 128
        var prefix = bits
        if parts.count == 2 {
            guard let p = Int(parts[1]), (0...bits).contains(p) else {
                throw ParseError(description: "'\(text)' is not an address range: the prefix length must be 0-\(bits)")
            }
            prefix = p
        }
        self.init(isIPv4: isIPv4, value: value, prefix: prefix)
    }

    /// Loopback and unspecified addresses: the enforcer's own host, whatever
    /// the options say (`0.0.0.0` connects to the local host too).
    /// (Literals that parse: a test holds every one of them.)
    public static let alwaysInternal: [AddressRange] = ["0.0.0.0/8", "127.0.0.0/8", "::/128", "::1/128"].compactMap {
        try? AddressRange(parsing: $0)
    }

    /// The single address's own range (/32 or /128).
    init?(exactly address: SocketAddress) {
        guard let (isIPv4, value) = Self.number(address) else { return nil }
        self.init(isIPv4: isIPv4, value: value, prefix: isIPv4 ? 32 : 128)
    }

    private init(isIPv4: Bool, value: UInt128, prefix: Int) {
        let bits = isIPv4 ? 32 : 128
        self.isIPv4 = isIPv4
        self.prefix = prefix
        // The top `prefix` bits of a `bits`-wide number.
        let width: UInt128 = bits == 128 ? .max : (1 << bits) - 1
        mask = prefix == 0 ? 0 : width & ~(prefix >= bits ? 0 : (width >> prefix))
        network = value & mask
    }

    public func contains(_ address: SocketAddress) -> Bool {
        guard let (isIPv4, value) = Self.number(address) else { return false }
        if isIPv4 == self.isIPv4 { return value & mask == network }
        // On an IPv6-only network with NAT64, 64:ff9b::10.0.0.1 is carried
        // to 10.0.0.1: a name that resolves there leads where 10.0.0.1 does.
        if self.isIPv4, let embedded = Self.embeddedIPv4(value) { return embedded & mask == network }
        return false
    }

    /// A NAT64 prefix: an IPv6 /96 range (the form of prefix that carries an
    /// IPv4 address in its last 32 bits, RFC 6052 §2.2).
    public init(nat64Prefix text: String) throws {
        try self.init(parsing: text)
        guard !isIPv4, prefix == 96 else {
            throw ParseError(description: "'\(text)' is not an IPv6 /96 prefix (such as 2001:db8:64::/96)")
        }
    }

    /// This IPv4 range's addresses as a network-specific NAT64 prefix
    /// (`prefix`, a /96 range, RFC 6052 §2.2) carries them: `2001:db8:64::/96`
    /// makes 10.0.0.0/8 into 2001:db8:64::a00:0/104. Nil for an IPv6 range
    /// or a prefix that is not an IPv6 /96.
    public func nat64Form(prefix nat64: AddressRange) -> AddressRange? {
        guard isIPv4, !nat64.isIPv4, nat64.prefix == 96 else { return nil }
        return AddressRange(isIPv4: false, value: nat64.network | network, prefix: 96 + prefix)
    }

    /// The IPv4 address inside a NAT64 address of the well-known prefix
    /// (64:ff9b::/96, RFC 6052) or a 6to4 address (2002::/16, RFC 3056).
    static func embeddedIPv4(_ value: UInt128) -> UInt128? {
        if value >> 32 == 0x64_ff9b_0000_0000_0000_0000 { return value & 0xffff_ffff }
        if value >> 112 == 0x2002 { return (value >> 80) & 0xffff_ffff }
        return nil
    }

    public var description: String {
        let text: String
        if isIPv4 {
            text = (0..<4).map { String(UInt8(truncatingIfNeeded: network >> (24 - 8 * $0))) }.joined(separator: ".")
        } else {
            text = (0..<8).map { String(UInt16(truncatingIfNeeded: network >> (112 - 16 * $0)), radix: 16) }.joined(separator: ":")
        }
        return "\(text)/\(prefix)"
    }

    /// Loopback, link-local, private (RFC 1918 and IPv6 unique local) and unspecified addresses.
    public static let defaultInternal: [AddressRange] = [
        "0.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
        "::/128", "::1/128", "fe80::/10", "fc00::/7",
    ].compactMap { try? AddressRange(parsing: $0) }

    /// The address as a number, an IPv4-mapped IPv6 address as its IPv4 one.
    static func number(_ address: SocketAddress) -> (isIPv4: Bool, value: UInt128)? {
        switch address {
        case .v4(let v4):
            return (true, UInt128(UInt32(bigEndian: v4.address.sin_addr.s_addr)))
        case .v6(let v6):
            let value = withUnsafeBytes(of: v6.address.sin6_addr) { raw in
                raw.reduce(UInt128(0)) { $0 << 8 | UInt128($1) }
            }
            if value >> 32 == 0xffff { return (true, value & 0xffff_ffff) }
            return (false, value)
        default:
            return nil
        }
    }
}
