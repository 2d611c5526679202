import ClientHello
import Testing
import TestSupport

/// The 64 KiB cap on a ClientHello, and the cost of reading one.
@Suite("Limits")
struct LimitTests {
    /// A hello whose handshake body is exactly `length` bytes, padded with
    /// a padding extension (21), so it spans several full records.
    static func hello(bodyLength length: Int) -> HelloBuilder {
        var hello = HelloBuilder(host: "big.example")
        let padding = length - hello.body.count - 4
        hello.extensions?.append((21, [UInt8](repeating: 0, count: padding)))
        precondition(hello.body.count == length)
        return hello
    }

    @Test("a hello of exactly maxHelloLength bytes is read, one byte at a time too")
    func atCap() {
        let bytes = Self.hello(bodyLength: ClientHelloReader.maxHelloLength).records(ofSize: 16_384)
        #expect(bytes.count > 65_536)
        Feeding.expect(bytes, gives: .sni("big.example", ech: false))
    }

    @Test("a hello one byte over maxHelloLength is refused as soon as its length is read")
    func overCap() {
        let bytes = Self.hello(bodyLength: ClientHelloReader.maxHelloLength + 1).records(ofSize: 16_384)
        let reason = Feeding.expectMalformed(bytes, containing: "65537")
        #expect(reason == "ClientHello length 65537 exceeds the limit of 65536 bytes")
        var reader = ClientHelloReader()
        #expect(reader.feed(bytes.prefix(9)) != nil, "decided on the handshake header")
        Feeding.expectMalformed(
            HelloBuilder.record([1, 0xFF, 0xFF, 0xFF]), containing: "ClientHello length 16777215 exceeds")
    }

    /// A byte-at-a-time sender must not make the reader re-parse: a quadratic
    /// reader would take tens of seconds over a 64 KiB hello fed 1 byte per
    /// call 16 times over; a linear one takes well under a second.
    @Test("one byte per call costs linear time", .timeLimit(.minutes(1)))
    func linear() {
        let bytes = Self.hello(bodyLength: ClientHelloReader.maxHelloLength).records(ofSize: 1)
        let clock = ContinuousClock()
        let elapsed = clock.measure {
            #expect(Feeding.bytewise(bytes) == .sni("big.example", ech: false))
        }
        #expect(elapsed < .seconds(20), "took \(elapsed)")
    }
}
