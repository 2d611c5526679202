import ClientHello
import Testing
import TestSupport

/// The ClientHello body: its vectors, its extensions and where the SNI and
/// ECH come from.
@Suite("ClientHello body")
struct ClientHelloParserTests {
    @Test("SNI and ECH")
    func sniAndECH() {
        Feeding.expect(HelloBuilder(host: "www.example.com").bytes, gives: .sni("www.example.com", ech: false))
        Feeding.expect(
            HelloBuilder(host: "www.example.com", ech: true).bytes, gives: .sni("www.example.com", ech: true))
        Feeding.expect(HelloBuilder(ech: true).bytes, gives: .noSNI(ech: true))
        Feeding.expect(HelloBuilder().bytes, gives: .noSNI(ech: false))
    }

    @Test("a TLS 1.2 hello without an extensions block has no SNI")
    func noExtensionsBlock() {
        var hello = HelloBuilder()
        hello.extensions = nil
        Feeding.expect(hello.bytes, gives: .noSNI(ech: false))
        hello.extensions = []
        Feeding.expect(hello.bytes, gives: .noSNI(ech: false))
    }

    @Test("the host_name entry is taken, other name types skipped; two host_names are refused")
    func serverNameEntries() {
        var hello = HelloBuilder()
        hello.extensions?.append((0, HelloBuilder.serverNameList([(1, [9, 9]), (0, Array("first.example".utf8))])))
        Feeding.expect(hello.bytes, gives: .sni("first.example", ech: false))
        var two = HelloBuilder()
        let entries: [(UInt8, [UInt8])] = [
            (1, [9, 9]), (0, Array("first.example".utf8)), (0, Array("second.example".utf8)),
        ]
        two.extensions?.append((0, HelloBuilder.serverNameList(entries)))
        Feeding.expectMalformed(two.bytes, containing: "server_name list has more than one host_name")
        var other = HelloBuilder()
        other.extensions?.append((0, HelloBuilder.serverNameList([(7, Array("x".utf8))])))
        Feeding.expect(other.bytes, gives: .noSNI(ech: false))
    }

    @Test("session id longer than 32")
    func sessionID() {
        var hello = HelloBuilder(host: "a.example")
        hello.sessionID = [UInt8](repeating: 1, count: 33)
        Feeding.expectMalformed(hello.bytes, containing: "session id length 33 exceeds the maximum of 32")
    }

    @Test("cipher suites empty or odd")
    func cipherSuites() {
        var hello = HelloBuilder(host: "a.example")
        hello.cipherSuites = []
        Feeding.expectMalformed(hello.bytes, containing: "cipher suites length 0 is not a positive even number")
        hello.cipherSuites = [0x13, 0x01, 0x13]
        Feeding.expectMalformed(hello.bytes, containing: "cipher suites length 3 is not a positive even number")
    }

    @Test("compression methods empty")
    func compression() {
        var hello = HelloBuilder(host: "a.example")
        hello.compressionMethods = []
        Feeding.expectMalformed(hello.bytes, containing: "compression methods are empty")
    }

    @Test("a length field pointing past the end of its container")
    func lengthPastEnd() {
        var hello = HelloBuilder(host: "a.example")
        hello.cipherSuitesLength = 0x1000
        Feeding.expectMalformed(hello.bytes, containing: "cipher suites length 4096 exceeds the")
        // The example from the API documentation, word for word.
        var server = HelloBuilder()
        server.rawExtensions = [0, 0, 0x01, 0x2C] + [UInt8](repeating: 0, count: 12)
        let reason = Feeding.expectMalformed(server.bytes, containing: "extension 0 (server_name)")
        #expect(reason == "extension 0 (server_name) length 300 exceeds the 12 bytes left in the extensions")
        // An extension header cut short by the end of the block.
        var short = HelloBuilder()
        short.rawExtensions = [0, 10, 0]
        Feeding.expectMalformed(
            short.bytes,
            containing: "extension 10 (supported_groups) length needs 2 bytes but only 1 byte is left in the extensions"
        )
    }

    @Test("extensions block length that does not match the rest of the hello")
    func extensionsLength() {
        var hello = HelloBuilder(host: "a.example")
        hello.extensionsLength = 10
        Feeding.expectMalformed(hello.bytes, containing: "extensions length 10 does not match the")
        var trailing = HelloBuilder(host: "a.example")
        trailing.rawExtensions = [0]
        trailing.extensionsLength = 0
        Feeding.expectMalformed(trailing.bytes, containing: "extensions length 0 does not match the 1 byte left")
    }

    @Test("a hello that ends inside a fixed field")
    func shortHello() {
        Feeding.expectMalformed(
            HelloBuilder.record(HelloBuilder.handshake([])),
            containing: "legacy_version needs 2 bytes but only 0 bytes are left in the ClientHello")
        Feeding.expectMalformed(
            HelloBuilder.record(HelloBuilder.handshake([3, 3, 1])),
            containing: "random needs 32 bytes but only 1 byte is left")
    }

    @Test(
        "duplicate extensions, named by type",
        arguments: [
            (0, "duplicate extension 0 (server_name)"), (10, "duplicate extension 10 (supported_groups)"),
            (0xfe0d, "duplicate extension 65037 (encrypted_client_hello)"), (0x0a0a, "duplicate extension 2570"),
        ] as [(UInt16, String)])
    func duplicates(type: UInt16, reason: String) {
        var hello = HelloBuilder(host: "a.example")
        let body = type == 0 ? HelloBuilder.serverName("b.example") : [0, 2, 0, 29]
        hello.extensions? += [(type, body), (type, body)]
        #expect(Feeding.expectMalformed(hello.bytes, containing: reason) == reason)
    }

    @Test("server_name list lengths that disagree")
    func serverNameListLengths() {
        let name = Array("a.example".utf8)
        var longList = HelloBuilder()
        longList.extensions?.append((0, HelloBuilder.u16(40) + [0] + HelloBuilder.u16(name.count) + name))
        Feeding.expectMalformed(
            longList.bytes,
            containing: "server_name list length 40 does not match the 12 bytes left in the server_name extension")
        var longEntry = HelloBuilder()
        longEntry.extensions?.append((0, HelloBuilder.u16(12) + [0] + HelloBuilder.u16(50) + name))
        Feeding.expectMalformed(
            longEntry.bytes,
            containing: "server_name entry (type 0) length 50 exceeds the 9 bytes left in the server_name list")
        var emptyList = HelloBuilder()
        emptyList.extensions?.append((0, [0, 0]))
        Feeding.expectMalformed(emptyList.bytes, containing: "server_name list is empty")
        var emptyExtension = HelloBuilder()
        emptyExtension.extensions?.append((0, []))
        Feeding.expectMalformed(emptyExtension.bytes, containing: "server_name list length needs 2 bytes")
        var cutEntry = HelloBuilder()
        cutEntry.extensions?.append((0, HelloBuilder.u16(2) + [0, 0]))
        Feeding.expectMalformed(
            cutEntry.bytes,
            containing: "server_name entry length needs 2 bytes but only 1 byte is left in the server_name list")
    }
}
