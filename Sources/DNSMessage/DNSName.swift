/// A domain name as its labels, each 1-63 bytes, 255 bytes in all on the
/// wire. Compared without regard to ASCII case, as DNS compares names.
public struct DNSName: Hashable, Sendable, CustomStringConvertible {
    public let labels: [[UInt8]]

    public init(labels: [[UInt8]]) {
        self.labels = labels
    }

    /// `www.example.com` or `www.example.com.`; nil when a label is empty
    /// or too long, or the name too long.
    public init?(_ text: String) {
        var text = Substring(text)
        if text.hasSuffix(".") { text = text.dropLast() }
        if text.isEmpty {
            self.init(labels: [])
            return
        }
        let labels = text.split(separator: ".", omittingEmptySubsequences: false).map { Array($0.utf8) }
        guard labels.allSatisfy({ (1...63).contains($0.count) }) else { return nil }
        let name = DNSName(labels: labels)
        guard name.wireLength <= 255 else { return nil }
        self = name
    }

    /// Bytes on the wire, uncompressed: each label's length and bytes, and the root's zero.
    public var wireLength: Int { labels.reduce(1) { $0 + 1 + $1.count } }

    /// The name in lower case, without a trailing dot; bytes outside
    /// printable ASCII (and dots inside a label) written as `\DDD`.
    public var description: String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(wireLength)
        for (index, label) in labels.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ".")) }
            for byte in label {
                let lower = Self.fold(byte)
                if lower > 32 && lower < 127 && lower != UInt8(ascii: ".") && lower != UInt8(ascii: "\\") {
                    bytes.append(lower)
                } else {
                    bytes.append(UInt8(ascii: "\\"))
                    bytes.append(UInt8(ascii: "0") + lower / 100)
                    bytes.append(UInt8(ascii: "0") + (lower / 10) % 10)
                    bytes.append(UInt8(ascii: "0") + lower % 10)
                }
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Whether this name is `zone` or under it.
    public func isWithin(_ zone: DNSName) -> Bool {
        guard zone.labels.count <= labels.count else { return false }
        return zip(labels.suffix(zone.labels.count), zone.labels).allSatisfy { Self.equal($0, $1) }
    }

    public static func == (a: DNSName, b: DNSName) -> Bool {
        a.labels.count == b.labels.count && zip(a.labels, b.labels).allSatisfy { equal($0, $1) }
    }

    public func hash(into hasher: inout Hasher) {
        for label in labels {
            hasher.combine(label.count)
            for byte in label { hasher.combine(Self.fold(byte)) }
        }
    }

    static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { fold($0) == fold($1) }
    }

    static func fold(_ byte: UInt8) -> UInt8 { (byte >= 65 && byte <= 90) ? byte + 32 : byte }
}
