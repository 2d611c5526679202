import ClientHello
import Testing
import TestSupport

/// The record layer: what is TLS at all, fragmentation across records, and
/// the records that may not appear before the hello is complete.
@Suite("Record layer")
struct RecordLayerTests {
    let hello = HelloBuilder(host: "split.example.com")

    @Test("a hello split across two and three records")
    func fragmentation() {
        let handshake = hello.handshake
        let two = HelloBuilder.record(Array(handshake[..<40])) + HelloBuilder.record(Array(handshake[40...]))
        Feeding.expect(two, gives: .sni("split.example.com", ech: false))
        let three =
            HelloBuilder.record(Array(handshake[..<2])) + HelloBuilder.record(Array(handshake[2..<90]))
            + HelloBuilder.record(Array(handshake[90...]))
        Feeding.expect(three, gives: .sni("split.example.com", ech: false))
    }

    @Test("later records may use any TLS 1.x record version")
    func recordVersions() {
        let handshake = hello.handshake
        let bytes =
            HelloBuilder.record(Array(handshake[..<10]), version: [3, 1])
            + HelloBuilder.record(Array(handshake[10...]), version: [3, 3])
        Feeding.expect(bytes, gives: .sni("split.example.com", ech: false))
    }

    @Test(
        "first bytes that are not a TLS handshake record",
        arguments: [
            Array("GET / HTTP/1.1\r\nHost: a\r\n\r\n".utf8),
            Array("SSH-2.0-OpenSSH_9.6\r\n".utf8),
            [0x80, 0x2E, 0x01, 0x00, 0x02],  // SSLv2-style hello
            [0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28],  // an alert first
            [0x16, 0x02, 0x00, 0x00, 0x10],  // major version 2
            [0x16, 0x04, 0x01, 0x00, 0x10],
        ])
    func notTLS(_ bytes: [UInt8]) {
        Feeding.expect(bytes, gives: .notTLS)
    }

    @Test("notTLS is decided on the first byte that shows it")
    func notTLSEarly() {
        var http = ClientHelloReader()
        #expect(http.feed([UInt8(ascii: "G")]) == .notTLS)
        var tls = ClientHelloReader()
        #expect(tls.feed([0x16]) == nil)
        #expect(tls.feed([0x03]) == nil)
        var wrongVersion = ClientHelloReader()
        #expect(wrongVersion.feed([0x16]) == nil)
        #expect(wrongVersion.feed([0x01]) == .notTLS)
        #expect(wrongVersion.feed(hello.bytes) == .notTLS, "the result sticks")
    }

    @Test("empty input needs more", arguments: [[UInt8](), [0x16], [0x16, 0x03, 0x01, 0x00]])
    func needsMore(_ bytes: [UInt8]) {
        Feeding.expect(bytes, gives: nil)
    }

    @Test(
        "a non-handshake record before the hello is complete",
        arguments: [
            (20, "content type 20 (change_cipher_spec)"), (21, "content type 21 (alert)"),
            (23, "content type 23 (application_data)"), (99, "content type 99 before"),
        ] as [(UInt8, String)])
    func interleavedRecord(type: UInt8, reason: String) {
        let handshake = hello.handshake
        let bytes =
            HelloBuilder.record(Array(handshake[..<30])) + HelloBuilder.record([1, 0], type: type)
            + HelloBuilder.record(Array(handshake[30...]))
        Feeding.expectMalformed(bytes, containing: "record 2 has " + reason)
    }

    @Test("a later record with a major version other than 3")
    func laterRecordVersion() {
        let handshake = hello.handshake
        let bytes =
            HelloBuilder.record(Array(handshake[..<30]))
            + HelloBuilder.record(Array(handshake[30...]), version: [2, 0])
        Feeding.expectMalformed(bytes, containing: "record 2 has major version 2, not 3")
    }

    @Test("record length 0 or beyond 16384+2048")
    func recordLength() {
        Feeding.expectMalformed([0x16, 3, 1, 0, 0], containing: "record 1 has length 0")
        Feeding.expectMalformed([0x16, 3, 1, 0x48, 0x01], containing: "record 1 has length 18433")
        let handshake = hello.handshake
        Feeding.expectMalformed(
            HelloBuilder.record(Array(handshake[..<30])) + [0x16, 3, 3, 0, 0], containing: "record 2 has length 0")
        // 18432 is the most a record may hold: the reader waits for it.
        Feeding.expect([0x16, 3, 1, 0x48, 0x00, 1, 0, 0], gives: nil)
    }

    @Test("a handshake message other than client_hello")
    func handshakeType() {
        let serverHello = HelloBuilder.record(HelloBuilder.handshake(hello.body, type: 2))
        Feeding.expectMalformed(serverHello, containing: "handshake message type 2 is not client_hello (1)")
        // Decided on the type byte, before the rest arrives.
        var reader = ClientHelloReader()
        #expect(reader.feed([0x16, 3, 1, 0, 50, 11]) != nil)
    }
}
