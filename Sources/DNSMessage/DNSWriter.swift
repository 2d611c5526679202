/// Writes DNS messages: names uncompressed (every name the reader gives is
/// whole), so that a message written here never depends on offsets.
public enum DNSWriter {
    public static func bytes(_ message: DNSMessage) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(512)
        u16(message.id, &out)
        u16(message.flags, &out)
        for count in [message.questions.count, message.answers.count, message.authorities.count, message.additionals.count] {
            u16(UInt16(truncatingIfNeeded: count), &out)
        }
        for question in message.questions {
            append(question.name, to: &out)
            u16(question.type, &out)
            u16(question.klass, &out)
        }
        for record in message.answers + message.authorities + message.additionals {
            append(record.name, to: &out)
            u16(record.type, &out)
            u16(record.klass, &out)
            u16(UInt16(truncatingIfNeeded: record.ttl >> 16), &out)
            u16(UInt16(truncatingIfNeeded: record.ttl), &out)
            u16(UInt16(truncatingIfNeeded: record.data.count), &out)
            out += record.data
        }
        return out
    }

    public static func append(_ name: DNSName, to out: inout [UInt8]) {
        for label in name.labels {
            out.append(UInt8(truncatingIfNeeded: label.count))
            out += label
        }
        out.append(0)
    }

    static func u16(_ value: UInt16, _ out: inout [UInt8]) {
        out.append(UInt8(value >> 8))
        out.append(UInt8(value & 0xFF))
    }
}
