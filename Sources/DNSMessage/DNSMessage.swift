/// A DNS message (RFC 1035, 4.1): the header, and each section's entries
/// with their names decompressed. Record data is kept as bytes; the types
/// whose data holds names (CNAME, NS, PTR, DNAME, MX, SOA, SRV) have them
/// decompressed too, so that a message can be written again on its own.
public struct DNSMessage: Sendable, Equatable {
    public var id: UInt16
    /// QR, opcode, AA, TC, RD, RA, Z, AD, CD and the low four bits of the rcode.
    public var flags: UInt16
    public var questions: [Question] = []
    public var answers: [Record] = []
    public var authorities: [Record] = []
    public var additionals: [Record] = []

    public init(id: UInt16, flags: UInt16) {
        self.id = id
        self.flags = flags
    }

    public struct Question: Sendable, Equatable {
        public var name: DNSName
        public var type: UInt16
        public var klass: UInt16

        public init(name: DNSName, type: UInt16, klass: UInt16 = 1) {
            self.name = name
            self.type = type
            self.klass = klass
        }
    }

    public struct Record: Sendable, Equatable {
        public var name: DNSName
        public var type: UInt16
        /// The class; for OPT (EDNS), the requester's UDP payload size.
        public var klass: UInt16
        /// The TTL; for OPT, the extended rcode, version and flags.
        public var ttl: UInt32
        public var data: [UInt8]

        public init(name: DNSName, type: UInt16, klass: UInt16, ttl: UInt32, data: [UInt8]) {
            self.name = name
            self.type = type
            self.klass = klass
            self.ttl = ttl
            self.data = data
        }
    }

    public var isResponse: Bool { flags & 0x8000 != 0 }
    public var opcode: UInt16 { (flags >> 11) & 0xF }
    public var isTruncated: Bool { flags & 0x0200 != 0 }
    public var rcode: UInt16 { flags & 0xF }

    /// The EDNS(0) OPT record of the additional section, if there is one.
    public var opt: Record? { additionals.first { $0.type == RecordType.opt } }
}

/// The record types this codebase reads or writes.
public enum RecordType {
    public static let a: UInt16 = 1
    public static let ns: UInt16 = 2
    public static let cname: UInt16 = 5
    public static let soa: UInt16 = 6
    public static let ptr: UInt16 = 12
    public static let mx: UInt16 = 15
    public static let txt: UInt16 = 16
    public static let aaaa: UInt16 = 28
    public static let srv: UInt16 = 33
    public static let dname: UInt16 = 39
    public static let opt: UInt16 = 41
    public static let svcb: UInt16 = 64
    public static let https: UInt16 = 65
    public static let any: UInt16 = 255

    private static let names: [UInt16: String] = [
        a: "A", ns: "NS", cname: "CNAME", soa: "SOA", ptr: "PTR", mx: "MX", txt: "TXT", aaaa: "AAAA", srv: "SRV",
        dname: "DNAME", opt: "OPT", svcb: "SVCB", https: "HTTPS", any: "ANY", 13: "HINFO", 35: "NAPTR", 43: "DS",
        46: "RRSIG", 47: "NSEC", 48: "DNSKEY", 52: "TLSA", 99: "SPF", 252: "AXFR", 251: "IXFR", 257: "CAA",
    ]

    /// The type's mnemonic (`AAAA`), or `TYPE65280` (RFC 3597) for one without.
    public static func name(_ type: UInt16) -> String { names[type] ?? "TYPE\(type)" }

    /// The type for a mnemonic or a `TYPEnnn`, in any case; nil for neither.
    public static func type(named text: String) -> UInt16? {
        let upper = text.uppercased()
        if let known = names.first(where: { $0.value == upper }) { return known.key }
        guard upper.hasPrefix("TYPE"), let number = UInt16(upper.dropFirst(4)) else { return nil }
        return number
    }
}

/// Query operation codes (RFC 1035, 4.1.1).
public enum Opcode {
    public static let query: UInt16 = 0
}

/// Classes (RFC 1035, 3.2.4).
public enum RecordClass {
    public static let internet: UInt16 = 1
}

/// Response codes (RFC 1035, 4.1.1).
public enum ResponseCode {
    public static let noError: UInt16 = 0
    public static let formatError: UInt16 = 1
    public static let serverFailure: UInt16 = 2
    public static let nameError: UInt16 = 3
    public static let notImplemented: UInt16 = 4
    public static let refused: UInt16 = 5
}
