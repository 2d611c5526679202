import ClientHello
import Testing
import TestSupport

/// Which host names are accepted, and how they are normalized before
/// policy matching sees them.
@Suite("Host names")
struct HostNameTests {
    @Test(
        "normalization: ASCII lower-case, one trailing dot removed",
        arguments: [
            ("WWW.Example.COM.", "www.example.com"), ("api.example.org", "api.example.org"),
            ("x", "x"), ("_dmarc.Example-1.net", "_dmarc.example-1.net"), ("A.", "a"),
        ])
    func normalize(raw: String, expected: String) {
        Feeding.expect(HelloBuilder(host: raw).bytes, gives: .sni(expected, ech: false))
    }

    @Test("253 bytes is the longest name, with or without its trailing dot")
    func longest() {
        let name = [String](repeating: String(repeating: "a", count: 62), count: 4).joined(separator: ".") + ".b"
        #expect(name.utf8.count == 253)
        Feeding.expect(HelloBuilder(host: name).bytes, gives: .sni(name, ech: false))
        Feeding.expect(HelloBuilder(host: name + ".").bytes, gives: .sni(name, ech: false))
        Feeding.expectMalformed(
            HelloBuilder(host: name + "c").bytes, containing: "host_name is 254 bytes long, more than 253")
    }

    @Test(
        "rejected host names",
        arguments: [
            ("", "host_name is empty"),
            (".", "host_name has an empty label at offset 0"),
            ("a..b", "host_name has an empty label at offset 2"),
            (".a", "host_name has an empty label at offset 0"),
            ("a.b..", "host_name has an empty label at offset 4"),
            ("a/b", "host_name contains byte 0x2F at offset 1"),
            ("a b", "host_name contains byte 0x20 at offset 1"),
            ("ex\u{0}mple.com", "host_name contains byte 0x00 at offset 2"),
            ("bücher.de", "host_name contains byte 0xC3 at offset 1"),
            ("a:443", "host_name contains byte 0x3A at offset 1"),
        ])
    func rejected(raw: String, reason: String) {
        let result = Feeding.expectMalformed(HelloBuilder(host: raw).bytes, containing: reason)
        #expect(result == reason)
    }
}

@Suite("IP literals are not server names")
struct IPLiteralServerNameTests {
    /// A resolver reads each of these as an address; the workload would pick the upstream.
    @Test(arguments: ["1.2.3.4", "198.18.3.66.", "2130706433", "0xc6120342", "10.0.0.1", "example.1com"])
    func addressesAreRefused(_ name: String) {
        var reader = ClientHelloReader()
        let result = reader.feed(HelloBuilder(host: name).bytes)
        guard case .malformed(let reason) = result else {
            Issue.record("\(name): \(String(describing: result))")
            return
        }
        #expect(reason.contains("a server name must be a DNS name (RFC 6066)"))
    }

    @Test(arguments: ["a1.example", "1a.example.com", "localhost", "x.y9"])
    func digitsElsewhereAreFine(_ name: String) {
        Feeding.expect(HelloBuilder(host: name).bytes, gives: .sni(name, ech: false))
    }
}
