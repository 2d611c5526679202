/// Why a ClientHello was rejected. Internal: callers see it as
/// `ClientHelloResult.malformed(reason)`; it exists so that the parser can
/// use typed throws and stop at the first problem without optionals
/// threaded through every read.
struct MalformedHello: Error, Equatable {
    let reason: String

    init(_ reason: String) {
        self.reason = reason
    }

    /// "1 byte", "12 bytes": the messages quote lengths from the wire, and
    /// a reader should not have to parse "1 bytes".
    static func bytes(_ count: Int) -> String {
        count == 1 ? "1 byte" : "\(count) bytes"
    }

    /// `0x2F`: bytes are named in hex, never echoed, because they come
    /// from an untrusted client and may be control characters.
    static func hex(_ byte: UInt8) -> String {
        let digits = String(byte, radix: 16, uppercase: true)
        return "0x" + (byte < 16 ? "0" + digits : digits)
    }
}
