/// Reads a DNS message from bytes, checking every length and offset:
/// what a workload sends is hostile. A name's compression pointers must
/// point backwards, to an earlier label than the one being read, so that
/// they cannot loop; a name ends within 255 bytes; every count is bounded by
/// what the message can hold.
public struct DNSReader {
    public struct Malformed: Error, Equatable, CustomStringConvertible {
        public let description: String
        public let offset: Int
    }

    private let bytes: [UInt8]
    private var offset = 0

    public static func message(_ bytes: [UInt8]) throws -> DNSMessage {
        var reader = DNSReader(bytes: bytes)
        return try reader.readMessage()
    }

    private init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    private mutating func readMessage() throws -> DNSMessage {
        guard bytes.count >= 12 else { throw fail("shorter than a DNS header (12 bytes)") }
        guard bytes.count <= 65535 else { throw fail("longer than a DNS message can be") }
        var message = DNSMessage(id: try u16(), flags: try u16())
        let counts = [try u16(), try u16(), try u16(), try u16()]
        // Each question takes at least 5 bytes and each record 11: a count
        // past what is left is a lie, refused before anything is reserved.
        let left = bytes.count - offset
        guard Int(counts[0]) * 5 + (Int(counts[1]) + Int(counts[2]) + Int(counts[3])) * 11 <= left else {
            throw fail("the section counts do not fit in the message")
        }
        for _ in 0..<counts[0] {
            message.questions.append(DNSMessage.Question(name: try name(), type: try u16(), klass: try u16()))
        }
        for _ in 0..<counts[1] { message.answers.append(try record()) }
        for _ in 0..<counts[2] { message.authorities.append(try record()) }
        for _ in 0..<counts[3] { message.additionals.append(try record()) }
        guard offset == bytes.count else { throw fail("\(bytes.count - offset) bytes after the last record") }
        return message
    }

    private mutating func record() throws -> DNSMessage.Record {
        let owner = try name()
        let type = try u16()
        let klass = try u16()
        let ttl = UInt32(try u16()) << 16 | UInt32(try u16())
        let length = Int(try u16())
        guard offset + length <= bytes.count else { throw fail("record data runs past the message") }
        let end = offset + length
        let data = try recordData(type: type, end: end)
        guard offset == end else { throw fail("record data of type \(type) does not fill its length") }
        return DNSMessage.Record(name: owner, type: type, klass: klass, ttl: ttl, data: data)
    }

    /// The record's data, names in it decompressed and written out whole.
    private mutating func recordData(type: UInt16, end: Int) throws -> [UInt8] {
        var out: [UInt8] = []
        switch type {
        case RecordType.cname, RecordType.ns, RecordType.ptr, RecordType.dname:
            DNSWriter.append(try name(), to: &out)
        case RecordType.mx:
            try skip(2, within: end)
            out += bytes[(offset - 2)..<offset]
            DNSWriter.append(try name(), to: &out)
        case RecordType.srv:
            try skip(6, within: end)
            out += bytes[(offset - 6)..<offset]
            DNSWriter.append(try name(), to: &out)
        case RecordType.soa:
            DNSWriter.append(try name(), to: &out)
            DNSWriter.append(try name(), to: &out)
            // The names may have run past the data: checked before the slice.
            guard offset + 20 <= end else { throw fail("record data shorter than its type needs") }
            out += bytes[offset..<(offset + 20)]
            offset += 20
        default:
            out += bytes[offset..<end]
            offset = end
        }
        guard offset <= end else { throw fail("a name in record data of type \(type) runs past its length") }
        return out
    }

    private mutating func skip(_ count: Int, within end: Int) throws {
        guard offset + count <= end else { throw fail("record data shorter than its type needs") }
        offset += count
    }

    /// A name at the current offset, following compression pointers.
    private mutating func name() throws -> DNSName {
        var labels: [[UInt8]] = []
        var length = 1
        var position = offset
        var resumeAt: Int?
        // A pointer must go to an earlier offset than the lowest one read
        // so far: every hop goes strictly back, so none can loop.
        var lowest = offset
        while true {
            guard position < bytes.count else { throw fail("a name runs past the message") }
            let byte = bytes[position]
            switch byte & 0xC0 {
            case 0x00:
                let count = Int(byte)
                if count == 0 {
                    offset = resumeAt ?? position + 1
                    return DNSName(labels: labels)
                }
                guard position + 1 + count <= bytes.count else { throw fail("a label runs past the message") }
                length += 1 + count
                guard length <= 255 else { throw fail("a name longer than 255 bytes") }
                labels.append(Array(bytes[(position + 1)...(position + count)]))
                position += 1 + count
            case 0xC0:
                guard position + 1 < bytes.count else { throw fail("a compression pointer runs past the message") }
                let target = Int(byte & 0x3F) << 8 | Int(bytes[position + 1])
                guard target < lowest else { throw fail("a compression pointer that does not point back") }
                // Names live after the header: a pointer into it would read
                // the id and counts as labels, which a forwarder may change.
                guard target >= 12 else { throw fail("a compression pointer into the header") }
                if resumeAt == nil { resumeAt = position + 2 }
                lowest = target
                position = target
            default:
                throw fail("a label type other than a length or a pointer")
            }
        }
    }

    private mutating func u16() throws -> UInt16 {
        guard offset + 2 <= bytes.count else { throw fail("the message ends early") }
        defer { offset += 2 }
        return UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
    }

    private func fail(_ what: String) -> Malformed { Malformed(description: what, offset: offset) }
}
