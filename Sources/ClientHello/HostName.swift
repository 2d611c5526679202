/// Checks and normalizes the host_name from a server_name extension.
///
/// The name goes on to policy matching, so anything a DNS host name cannot
/// be is rejected here rather than passed on: the proxy would otherwise
/// have to decide what "a..b", "" or a name with a NUL in it should match.
/// '_' is allowed because real names use it (SRV-style and some internal
/// hosts), even though RFC 952 does not.
enum HostName {
    static let maxLength = 253

    /// The name lower-cased (ASCII only), without one trailing dot.
    static func normalize(_ raw: ArraySlice<UInt8>) throws(MalformedHello) -> String {
        guard !raw.isEmpty else { throw MalformedHello("host_name is empty") }
        var name = raw
        if name.last == UInt8(ascii: ".") { name = name.dropLast() }
        guard name.count <= maxLength else {
            throw MalformedHello("host_name is \(name.count) bytes long, more than \(maxLength)")
        }
        var lowered: [UInt8] = []
        lowered.reserveCapacity(name.count)
        var labelLength = 0
        var lastLabelStart = 0
        for (offset, byte) in name.enumerated() {
            switch byte {
            case UInt8(ascii: "."):
                guard labelLength > 0 else { throw emptyLabel(at: offset) }
                labelLength = 0
                lastLabelStart = lowered.count + 1
            case UInt8(ascii: "A")...UInt8(ascii: "Z"):
                labelLength += 1
                lowered.append(byte + 32)
                continue
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "_"):
                labelLength += 1
            default:
                throw MalformedHello("host_name contains byte \(MalformedHello.hex(byte)) at offset \(offset)")
            }
            lowered.append(byte)
        }
        // Also catches a name that was only ".", or ended in "..".
        guard labelLength > 0 else { throw emptyLabel(at: name.count) }
        // RFC 6066 §3: no IP literals. A top-level label never starts with a
        // digit, and resolvers read names like 1.2.3.4, 2130706433 or
        // 0xc6120342 as addresses: the workload would choose the upstream.
        if (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(lowered[lastLabelStart]) {
            throw MalformedHello(
                "host_name '\(String(decoding: lowered, as: UTF8.self))' is an IP address or ends in a label "
                    + "starting with a digit; a server name must be a DNS name (RFC 6066)")
        }
        return String(decoding: lowered, as: UTF8.self)
    }

    private static func emptyLabel(at offset: Int) -> MalformedHello {
        MalformedHello("host_name has an empty label at offset \(offset)")
    }
}
