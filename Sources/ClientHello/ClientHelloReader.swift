/// Reads a TLS ClientHello incrementally from the bytes a client sends, in
/// whatever pieces TCP delivers them, and reports the server name it asks for.
///
/// The record layer is a small state machine over the 5-byte record header;
/// each handshake byte is copied once into `handshake`, and the hello is
/// parsed once, when its last byte arrives. So the total work is linear in
/// the input however it is split: a client that sends one byte per segment
/// costs no more than one that sends the hello in one piece.
///
/// The reader only looks: the caller keeps its own copy of the bytes to
/// forward once it has a verdict.
public struct ClientHelloReader: Sendable {
    /// The most handshake bytes accepted for one ClientHello (64 KiB).
    public static let maxHelloLength = 65_536
    /// RFC 8446 §5.2: a record may carry 2^14 bytes plus up to 2048 of
    /// expansion; anything longer is not a TLS record.
    static let maxRecordLength = 16_384 + 2_048

    private static let handshakeContentType: UInt8 = 22
    private static let clientHelloType: UInt8 = 1
    private static let handshakeHeaderLength = 4

    /// How many bytes of the current record header have been read (0...4);
    /// 5 is never stored: the header is complete and `recordBodyLeft` set.
    private var headerBytesRead = 0
    private var recordLength = 0
    /// Bytes of the current record's body not yet consumed; 0 means the
    /// next byte starts a record header.
    private var recordBodyLeft = 0
    /// Records whose header was complete; only the first can be `notTLS`.
    private var recordsSeen = 0
    /// The handshake message so far, header included.
    private var handshake: [UInt8] = []
    /// The handshake body length, once its header is complete.
    private var helloLength: Int?
    private var result: ClientHelloResult?

    public init() {}

    /// Feeds the next bytes from the connection. Returns nil while more bytes are needed, else the result (after a result, further calls return the same result).
    public mutating func feed(_ bytes: UnsafeRawBufferPointer) -> ClientHelloResult? {
        var index = 0
        while result == nil, index < bytes.count {
            if recordBodyLeft == 0 {
                readHeaderByte(bytes[index])
                index += 1
            } else {
                let count = min(recordBodyLeft, bytes.count - index, handshakeBytesWanted)
                handshake.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[index..<index + count]))
                index += count
                recordBodyLeft -= count
                handshakeDidGrow()
            }
        }
        return result
    }

    /// Convenience for tests and callers holding an array/collection.
    public mutating func feed<C: Collection>(_ bytes: C) -> ClientHelloResult? where C.Element == UInt8 {
        if let result { return result }
        if let answer = bytes.withContiguousStorageIfAvailable({ feed(UnsafeRawBufferPointer($0)) }) {
            return answer
        }
        return Array(bytes).withUnsafeBytes { feed($0) }
    }

    // MARK: Record layer

    /// Decides on each header byte as it arrives, so that a plain-HTTP
    /// client is told `notTLS` after its first byte rather than its fifth.
    private mutating func readHeaderByte(_ byte: UInt8) {
        switch headerBytesRead {
        case 0:
            // SSLv2-style hellos (high bit set) land here too: not TLS.
            guard byte == Self.handshakeContentType else {
                return finish(
                    recordsSeen == 0
                        ? .notTLS
                        : .malformed(
                            "record \(recordsSeen + 1) has content type \(Self.describeContentType(byte)) "
                                + "before the ClientHello was complete"))
            }
        case 1:
            guard byte == 3 else {
                return finish(
                    recordsSeen == 0
                        ? .notTLS : .malformed("record \(recordsSeen + 1) has major version \(byte), not 3"))
            }
        case 2:
            break  // minor version: clients send 1 (TLS 1.0) to 4 in the first record; not ours to judge.
        case 3:
            recordLength = Int(byte) << 8
        default:
            recordLength |= Int(byte)
            headerBytesRead = 0
            recordsSeen += 1
            guard recordLength > 0, recordLength <= Self.maxRecordLength else {
                return finish(
                    .malformed(
                        "record \(recordsSeen) has length \(recordLength); "
                            + "a handshake record holds 1 to \(Self.maxRecordLength) bytes"))
            }
            recordBodyLeft = recordLength
            return
        }
        headerBytesRead += 1
    }

    private static func describeContentType(_ type: UInt8) -> String {
        switch type {
        case 20: "20 (change_cipher_spec)"
        case 21: "21 (alert)"
        case 23: "23 (application_data)"
        case 24: "24 (heartbeat)"
        default: "\(type)"
        }
    }

    // MARK: Handshake layer

    /// How many more handshake bytes to take: up to the end of the header
    /// while its length is unknown, then up to the end of the hello, so the
    /// buffer never holds more than the hello (and never more than the cap).
    private var handshakeBytesWanted: Int {
        guard let helloLength else { return Self.handshakeHeaderLength - handshake.count }
        return Self.handshakeHeaderLength + helloLength - handshake.count
    }

    private mutating func handshakeDidGrow() {
        if helloLength == nil {
            if handshake.count >= 1, handshake[0] != Self.clientHelloType {
                return finish(.malformed("handshake message type \(handshake[0]) is not client_hello (1)"))
            }
            guard handshake.count == Self.handshakeHeaderLength else { return }
            let length = Int(handshake[1]) << 16 | Int(handshake[2]) << 8 | Int(handshake[3])
            guard length <= Self.maxHelloLength else {
                return finish(
                    .malformed("ClientHello length \(length) exceeds the limit of \(Self.maxHelloLength) bytes"))
            }
            // No reserveCapacity(length): memory should follow the bytes a
            // client has sent, not the length it claims in 9 bytes.
            helloLength = length
        }
        if handshakeBytesWanted == 0 {
            finish(ClientHelloParser.parse(handshake, start: Self.handshakeHeaderLength, end: handshake.count))
        }
    }

    /// Records the verdict and drops the buffer: a reader that has decided
    /// holds no client bytes.
    private mutating func finish(_ verdict: ClientHelloResult) {
        result = verdict
        handshake = []
    }
}
