import ClientHello
import Testing
import TestSupport

/// Real first flights from curl, openssl, Chromium and a plain HTTP client,
/// recorded on loopback by Captures/capture.sh.
@Suite("Captures")
struct CaptureTests {
    @Test("a capture gives its result however it is split", arguments: Capture.all)
    func capture(_ capture: Capture) throws {
        let bytes = try capture.bytes
        for seed: UInt64 in 1...20 {
            Feeding.expect(bytes, gives: capture.expected, seed: seed)
        }
    }

    @Test("bytes after the hello in the same feed are ignored", arguments: Capture.tls)
    func trailingBytes(_ capture: Capture) throws {
        let changeCipherSpec = HelloBuilder.record([1], type: 20, version: [3, 3])
        let bytes = try capture.bytes + changeCipherSpec + Array("GET / HTTP/1.1\r\n".utf8)
        Feeding.expect(bytes, gives: capture.expected)
    }

    @Test(
        "a capture's hello cut into records of any size gives the same result",
        arguments: Capture.tls, [1, 2, 5, 100, 511])
    func refragmented(_ capture: Capture, recordSize: Int) throws {
        let bytes = try capture.bytes
        // Each capture is one record holding the whole hello; take its payload.
        let recordLength = Int(bytes[3]) << 8 | Int(bytes[4])
        try #require(bytes.count == 5 + recordLength)
        let handshake = Array(bytes[5...])
        Feeding.expect(HelloBuilder.records(handshake, ofSize: recordSize), gives: capture.expected)
    }

    /// Pins what Chromium sent, so that a regenerated capture that lost the
    /// interesting parts (ECH, a hello longer than a typical first segment)
    /// is noticed rather than silently testing less.
    @Test("Chromium sends a large hello with an ECH extension")
    func chromiumFacts() throws {
        let bytes = try Capture.chromium.bytes
        #expect(bytes.count > 1_500, "post-quantum key share: \(bytes.count) bytes")
        #expect(Feeding.whole(bytes) == .sni("chromium.example.net", ech: true))
    }
}
