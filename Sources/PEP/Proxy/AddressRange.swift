import NIOCore

/// An address range in CIDR notation (`10.0.0.0/8`, `fd00::/8`, `198.18.3.1`).
/// IPv4-mapped IPv6 addresses are compared as the IPv4 address they carry.
public struct AddressRange: Sendable, Equatable, CustomStringConvertible {
    /// 4 or 16 bytes.
    let network: [UInt8]
    let prefix: Int

    public struct ParseError: Error, CustomStringConvertible {
        public let description: String
    }

    public init(parsing text: String) throws {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let bytes = AddressRange.bytes(of: String(parts[0])) else {
            throw ParseError(description: "'\(text)' is not an address range: '\(parts[0])' is not an IPv4 or IPv6 address")
        }
        let bits = bytes.count * 8
        var prefix = bits
        if parts.count == 2 {
            guard let p = Int(parts[1]), (0...bits).contains(p) else {
                throw ParseError(description: "'\(text)' is not an address range: the prefix length must be 0-\(bits)")
            }
            prefix = p
        }
        self.prefix = prefix
        network = AddressRange.masked(bytes, prefix)
    }

    init(bytes: [UInt8], prefix: Int) {
        self.prefix = prefix
        network = AddressRange.masked(bytes, prefix)
    }

    public func contains(_ address: [UInt8]) -> Bool {
        let address = AddressRange.unmapped(address)
        guard address.count == network.count else { return false }
        return AddressRange.masked(address, prefix) == network
    }

    public func contains(_ address: SocketAddress) -> Bool {
        AddressRange.bytes(of: address).map(contains) ?? false
    }

    public var description: String {
        let text: String
        if network.count == 4 {
            text = network.map(String.init).joined(separator: ".")
        } else {
            text = stride(from: 0, to: 16, by: 2).map { String(UInt16(network[$0]) << 8 | UInt16(network[$0 + 1]), radix: 16) }
                .joined(separator: ":")
        }
        return "\(text)/\(prefix)"
    }

    /// Loopback, link-local, private (RFC 1918 and IPv6 unique local) and unspecified addresses.
    public static let defaultInternal: [AddressRange] = [
        "0.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
        "::/128", "::1/128", "fe80::/10", "fc00::/7",
    ].map { try! AddressRange(parsing: $0) }

    static func bytes(of text: String) -> [UInt8]? {
        if let address = try? SocketAddress(ipAddress: text, port: 0) { return bytes(of: address) }
        return nil
    }

    static func bytes(of address: SocketAddress) -> [UInt8]? {
        switch address {
        case .v4(let v4):
            let raw = v4.address.sin_addr.s_addr  // network byte order
            return withUnsafeBytes(of: raw) { Array($0) }
        case .v6(let v6):
            return withUnsafeBytes(of: v6.address.sin6_addr) { Array($0) }
        default:
            return nil
        }
    }

    private static func unmapped(_ bytes: [UInt8]) -> [UInt8] {
        if bytes.count == 16, bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xff, bytes[11] == 0xff {
            return Array(bytes[12..<16])
        }
        return bytes
    }

    private static func masked(_ bytes: [UInt8], _ prefix: Int) -> [UInt8] {
        var out = bytes
        for i in 0..<out.count {
            let keep = max(0, min(8, prefix - i * 8))
            out[i] &= keep == 8 ? 0xff : UInt8(truncatingIfNeeded: 0xff << (8 - keep))
        }
        return out
    }
}
