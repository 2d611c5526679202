import ClientHello
import Testing
import TestSupport

/// The ways a test feeds the same bytes to a fresh reader: as the network
/// might deliver them in one segment, one byte per segment, or in random
/// pieces. A correct reader gives the same answer for all of them.
enum Feeding {
    static func whole(_ bytes: [UInt8]) -> ClientHelloResult? {
        var reader = ClientHelloReader()
        return reader.feed(bytes)
    }

    /// One byte per call, through the raw-buffer entry point the proxy uses.
    /// Keeps feeding after a result to check that the result then sticks.
    static func bytewise(_ bytes: [UInt8]) -> ClientHelloResult? {
        var reader = ClientHelloReader()
        var first: ClientHelloResult?
        for byte in bytes {
            let result = withUnsafeBytes(of: byte) { reader.feed($0) }
            if let first {
                #expect(result == first, "the result changed after it was given")
            } else {
                first = result
            }
        }
        return first
    }

    /// Random pieces of 1 to `maxChunk` bytes, from a seeded generator.
    static func chunked(_ bytes: [UInt8], seed: UInt64, maxChunk: Int = 64) -> ClientHelloResult? {
        var generator = SeededGenerator(seed: seed)
        var reader = ClientHelloReader()
        var start = 0
        var result: ClientHelloResult?
        while start < bytes.count {
            let end = min(bytes.count, start + Int.random(in: 1...maxChunk, using: &generator))
            result = reader.feed(bytes[start..<end])
            start = end
        }
        return result
    }

    /// Checks that every way of feeding `bytes` gives `expected`.
    static func expect(
        _ bytes: [UInt8], gives expected: ClientHelloResult?, seed: UInt64 = 1,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(whole(bytes) == expected, "all at once", sourceLocation: sourceLocation)
        #expect(bytewise(bytes) == expected, "one byte at a time", sourceLocation: sourceLocation)
        #expect(chunked(bytes, seed: seed) == expected, "random chunks, seed \(seed)", sourceLocation: sourceLocation)
    }

    /// Checks that every way of feeding `bytes` gives the same `.malformed`
    /// whose reason contains `part`; returns the reason.
    @discardableResult
    static func expectMalformed(
        _ bytes: [UInt8], containing part: String, sourceLocation: SourceLocation = #_sourceLocation
    ) -> String? {
        let result = whole(bytes)
        guard case .malformed(let reason) = result else {
            Issue.record(
                "expected malformed containing \"\(part)\", got \(String(describing: result))",
                sourceLocation: sourceLocation)
            return nil
        }
        #expect(reason.contains(part), "reason: \(reason)", sourceLocation: sourceLocation)
        expect(bytes, gives: result, sourceLocation: sourceLocation)
        return reason
    }
}
