import NIOCore

/// Splits a watch stream into its lines (one JSON event each) as chunks
/// arrive, wherever the chunks are cut, and refuses a line longer than
/// `maxLineBytes` as soon as it is: a line is held in memory until it ends,
/// so a line without end must not be. Both watch streams read with it: the
/// Kubernetes API's (egress-pdp) and the decision service's (the enforcers).
public struct WatchLines: Sendable {
    public struct LineTooLong: Error, CustomStringConvertible {
        public let maxLineBytes: Int
        public var description: String { "a watch event longer than \(maxLineBytes) bytes" }
    }

    public let maxLineBytes: Int
    /// The start of a line whose end has not arrived.
    private var partial = ByteBuffer()

    public init(maxLineBytes: Int) {
        self.maxLineBytes = maxLineBytes
    }

    /// The lines `chunk` completes, without their newlines; empty lines
    /// (the API server's keep-alives, if any) are left out.
    public mutating func feed(_ chunk: ByteBuffer) throws -> [ByteBuffer] {
        var chunk = chunk
        var lines: [ByteBuffer] = []
        while let newline = chunk.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) {
            var part = chunk.readSlice(length: newline - chunk.readerIndex) ?? ByteBuffer()
            chunk.moveReaderIndex(forwardBy: 1)
            try check(partial.readableBytes + part.readableBytes)
            if partial.readableBytes == 0 {
                if part.readableBytes > 0 { lines.append(part) }
            } else {
                partial.writeBuffer(&part)
                lines.append(partial)
                partial = ByteBuffer()
            }
        }
        try check(partial.readableBytes + chunk.readableBytes)
        partial.writeBuffer(&chunk)
        return lines
    }

    /// Bytes of a line not yet ended (what a cut stream leaves: not an event).
    public var pendingBytes: Int { partial.readableBytes }

    private func check(_ length: Int) throws {
        guard length <= maxLineBytes else { throw LineTooLong(maxLineBytes: maxLineBytes) }
    }
}
