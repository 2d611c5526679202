import StreamLines
import NIOCore
import Testing

/// The watch stream's line splitter alone: lines cut anywhere by the
/// chunks, and the cap on a line that does not end.
struct WatchLinesTests {
    static func strings(_ lines: [ByteBuffer]) -> [String] { lines.map { String(buffer: $0) } }

    @Test func linesAreWholeWhereverTheChunksAreCut() throws {
        let stream = #"{"type":"ADDED"}"# + "\n" + #"{"type":"MODIFIED"}"# + "\n\n" + #"{"type":"DELETED"}"# + "\n"
        let bytes = Array(stream.utf8)
        // Every cut into two chunks, and one byte at a time.
        for cut in 0...bytes.count {
            var lines = WatchLines(maxLineBytes: 64)
            let first = try lines.feed(ByteBuffer(bytes: bytes[..<cut]))
            let second = try lines.feed(ByteBuffer(bytes: bytes[cut...]))
            #expect(Self.strings(first + second) == [#"{"type":"ADDED"}"#, #"{"type":"MODIFIED"}"#, #"{"type":"DELETED"}"#], "cut at \(cut)")
            #expect(lines.pendingBytes == 0)
        }
        var lines = WatchLines(maxLineBytes: 64)
        var all: [ByteBuffer] = []
        for byte in bytes { all += try lines.feed(ByteBuffer(bytes: [byte])) }
        #expect(Self.strings(all).count == 3)
    }

    @Test func aLineCutShortIsHeldNotHandedOn() throws {
        var lines = WatchLines(maxLineBytes: 64)
        let handed = try lines.feed(ByteBuffer(string: #"{"type":"ADDED"}"# + "\n" + #"{"type":"MOD"#))
        #expect(Self.strings(handed) == [#"{"type":"ADDED"}"#])
        #expect(lines.pendingBytes == #"{"type":"MOD"#.utf8.count)
    }

    /// The cap holds however the line arrives: growing chunk by chunk
    /// without an end, or whole with its newline in one chunk.
    @Test func aLineOverTheCapIsRefused() throws {
        var growing = WatchLines(maxLineBytes: 1024)
        _ = try growing.feed(ByteBuffer(repeating: UInt8(ascii: "x"), count: 1000))
        #expect(throws: WatchLines.LineTooLong.self) { _ = try growing.feed(ByteBuffer(repeating: UInt8(ascii: "x"), count: 25)) }

        var whole = WatchLines(maxLineBytes: 1024)
        var chunk = ByteBuffer(repeating: UInt8(ascii: "x"), count: 1025)
        chunk.writeString("\n")
        #expect(throws: WatchLines.LineTooLong.self) { _ = try whole.feed(chunk) }

        var atCap = WatchLines(maxLineBytes: 1024)
        var exact = ByteBuffer(repeating: UInt8(ascii: "x"), count: 1024)
        exact.writeString("\n")
        let handed = try atCap.feed(exact)
        #expect(handed.map(\.readableBytes) == [1024], "a line of exactly the cap is an event")
    }
}
