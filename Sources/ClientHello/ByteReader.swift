/// A cursor over part of a byte array whose every read checks the bounds
/// first, so that no length from the wire can index past the data: a short
/// read throws a `MalformedHello` that names the field and its container.
struct ByteReader {
    private let bytes: [UInt8]
    private(set) var offset: Int
    private let end: Int
    /// What the bytes are, for messages: "the extensions", "the ClientHello".
    let container: String

    /// Reads `bytes[start..<end]`; the caller guarantees the range is valid.
    init(_ bytes: [UInt8], start: Int, end: Int, container: String) {
        precondition(0 <= start && start <= end && end <= bytes.count)
        self.bytes = bytes
        self.offset = start
        self.end = end
        self.container = container
    }

    var remaining: Int { end - offset }
    var isEmpty: Bool { offset == end }

    mutating func readUInt8(_ field: @autoclosure () -> String) throws(MalformedHello) -> UInt8 {
        try require(1, field())
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func readUInt16(_ field: @autoclosure () -> String) throws(MalformedHello) -> Int {
        try require(2, field())
        defer { offset += 2 }
        return Int(bytes[offset]) << 8 | Int(bytes[offset + 1])
    }

    /// Skips a fixed-size field such as the 32-byte random.
    mutating func skip(_ count: Int, _ field: @autoclosure () -> String) throws(MalformedHello) {
        try require(count, field())
        offset += count
    }

    /// Splits off the next `length` bytes, the body of a vector whose
    /// length prefix was just read, as a reader of their own.
    mutating func vector(
        _ length: Int, _ field: @autoclosure () -> String, container: @autoclosure () -> String
    ) throws(MalformedHello) -> ByteReader {
        guard length <= remaining else {
            throw MalformedHello(
                "\(field()) length \(length) exceeds the \(MalformedHello.bytes(remaining)) left in \(self.container)")
        }
        defer { offset += length }
        return ByteReader(bytes, start: offset, end: offset + length, container: container())
    }

    /// Skips a vector's body, with the same check as `vector` but without
    /// making a reader (or its description) for it: most extensions are
    /// only stepped over.
    mutating func skipVector(_ length: Int, _ field: @autoclosure () -> String) throws(MalformedHello) {
        guard length <= remaining else {
            throw MalformedHello(
                "\(field()) length \(length) exceeds the \(MalformedHello.bytes(remaining)) left in \(self.container)")
        }
        offset += length
    }

    /// The unread bytes, for a caller that inspects them itself.
    var rest: ArraySlice<UInt8> { bytes[offset..<end] }

    /// `field` is an autoclosure all the way down: a description is built
    /// only for an error, never for the reads of a well-formed hello.
    private func require(_ count: Int, _ field: @autoclosure () -> String) throws(MalformedHello) {
        guard count <= remaining else {
            throw MalformedHello(
                "\(field()) needs \(MalformedHello.bytes(count)) but only \(MalformedHello.bytes(remaining)) "
                    + "\(remaining == 1 ? "is" : "are") left in \(container)")
        }
    }
}
