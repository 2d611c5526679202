import EgressAPI
import NIOCore

/// A workload's address (a connection's peer, a query's source) as the
/// text the decision service keys workloads by (`IPAddressText`'s
/// canonical form: an IPv4-mapped address is its IPv4). Written straight
/// from the address's bytes for IPv4, the common case on every query's and
/// connection's path, where formatting with inet_ntop and parsing again
/// cost more than the rest of egress-dns's lookup.
public enum SourceAddressText {
    public static func text(_ address: SocketAddress) -> String? {
        if case .v4(let v4) = address {
            let raw = UInt32(bigEndian: v4.address.sin_addr.s_addr)
            var bytes: [UInt8] = []
            bytes.reserveCapacity(15)
            for shift in [24, 16, 8, 0] {
                if shift != 24 { bytes.append(UInt8(ascii: ".")) }
                let octet = UInt8(truncatingIfNeeded: raw >> UInt32(shift))
                if octet >= 100 { bytes.append(UInt8(ascii: "0") + octet / 100) }
                if octet >= 10 { bytes.append(UInt8(ascii: "0") + (octet / 10) % 10) }
                bytes.append(UInt8(ascii: "0") + octet % 10)
            }
            return String(decoding: bytes, as: UTF8.self)
        }
        return address.ipAddress.flatMap(IPAddressText.normalize)
    }
}
