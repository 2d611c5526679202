#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An address range as iptables prints it: the network address (host bits
/// cleared) in canonical text, and the prefix length always written, so
/// that a rule compares equal to the one `iptables-save` gives back.
public struct CIDR: Hashable, Sendable, CustomStringConvertible {
    public enum Family: String, Sendable, CaseIterable {
        case ipv4, ipv6
    }

    public let family: Family
    public let address: String
    public let prefix: Int

    public var description: String { "\(address)/\(prefix)" }

    public struct ParseError: Error, CustomStringConvertible {
        public let description: String
    }

    /// `ADDRESS/PREFIX`, or an address alone (a single host).
    public init(parsing text: String) throws {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        let host = String(parts[0])
        var bytes = [UInt8](repeating: 0, count: 16)
        let family: Family
        if inet_pton(AF_INET, host, &bytes) == 1 {
            family = .ipv4
        } else if inet_pton(AF_INET6, host, &bytes) == 1 {
            family = .ipv6
        } else {
            throw ParseError(description: "'\(text)' is not an address range (ADDRESS/PREFIX, such as 10.244.0.0/16 or fd00::/48)")
        }
        let width = family == .ipv4 ? 32 : 128
        var prefix = width
        if parts.count == 2 {
            guard let length = Int(parts[1]), (0...width).contains(length) else {
                throw ParseError(description: "'\(text)': the prefix length must be 0-\(width)")
            }
            prefix = length
        }
        // Host bits cleared, as iptables does.
        for bit in prefix..<width { bytes[bit / 8] &= ~(UInt8(0x80) >> UInt8(bit % 8)) }
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        _ = inet_ntop(family == .ipv4 ? AF_INET : AF_INET6, bytes, &text, socklen_t(text.count))
        self.family = family
        self.address = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        self.prefix = prefix
    }
}
