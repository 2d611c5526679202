import NIOCore

/// Whether bytes from an upstream answer what was asked: a response (QR),
/// one question, and that question's bytes those of the query (compared
/// without regard to ASCII case). The query egress-dns sends is its own
/// writing, its question uncompressed right after the header, so the
/// answer's question is found at the same place.
enum UpstreamAnswer {
    /// `question`: the query's bytes from offset 12 to the question's end.
    static func answers(question: ByteBuffer, _ answer: ByteBuffer) -> Bool {
        guard answer.readableBytes >= 12 + question.readableBytes,
            let flags = answer.getInteger(at: answer.readerIndex + 2, as: UInt16.self), flags & 0x8000 != 0,
            answer.getInteger(at: answer.readerIndex + 4, as: UInt16.self) == 1
        else { return false }
        return question.withUnsafeReadableBytes { asked in
            answer.withUnsafeReadableBytes { got in
                for index in 0..<asked.count where fold(asked[index]) != fold(got[12 + index]) { return false }
                return true
            }
        }
    }

    /// The same for a whole query: its id too.
    static func answers(_ query: ByteBuffer, _ answer: ByteBuffer) -> Bool {
        guard let id = query.getInteger(at: query.readerIndex, as: UInt16.self),
            answer.getInteger(at: answer.readerIndex, as: UInt16.self) == id,
            let question = questionBytes(of: query)
        else { return false }
        return answers(question: question, answer)
    }

    /// The question's bytes of a query egress-dns wrote: the name's labels
    /// up to its root, then type and class.
    static func questionBytes(of query: ByteBuffer) -> ByteBuffer? {
        var offset = query.readerIndex + 12
        while let length = query.getInteger(at: offset, as: UInt8.self) {
            offset += 1 + Int(length)
            if length == 0 { return query.getSlice(at: query.readerIndex + 12, length: offset + 4 - query.readerIndex - 12) }
        }
        return nil
    }

    private static func fold(_ byte: UInt8) -> UInt8 { (byte >= 65 && byte <= 90) ? byte + 32 : byte }
}

/// Why egress-dns could not answer a query itself: no verdict in time, no
/// upstream answered, the socket closed. Logged, and answered SERVFAIL.
struct DNSFailure: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}
