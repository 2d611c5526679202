import Testing

@testable import EnforcerCore
@testable import PEP

@Suite struct ConnectTargetTests {
    @Test func parsesHostAndPort() {
        #expect(ConnectRequestHandler.parse("API.Example.COM.:443")! == ("api.example.com", 443))
        #expect(ConnectRequestHandler.parse("[2001:db8::1]:8443")! == ("2001:db8::1", 8443))
        #expect(ConnectRequestHandler.parse("example.com") == nil)
        #expect(ConnectRequestHandler.parse("example.com:0") == nil)
        #expect(ConnectRequestHandler.parse("example.com:70000") == nil)
        #expect(ConnectRequestHandler.parse(":443") == nil)
        #expect(ConnectRequestHandler.parse(String(repeating: "a", count: 300) + ":443") == nil)
    }

    @Test func parsesDecisionServiceEndpoints() throws {
        #expect(try PDPEndpoint(parsing: "h2c://127.0.0.1:15010") == .h2c(host: "127.0.0.1", port: 15010))
        #expect(try PDPEndpoint(parsing: "h2://pdp.egress.svc:15012/") == .h2(host: "pdp.egress.svc", port: 15012))
        #expect(try PDPEndpoint(parsing: "h2c://[::1]:15010") == .h2c(host: "::1", port: 15010))
        #expect(try PDPEndpoint(parsing: "unix:///run/egress/pdp.sock") == .unix(path: "/run/egress/pdp.sock"))
        for bad in ["http://127.0.0.1:15010", "h2c://127.0.0.1", "h2c://:15010", "unix://relative.sock", "h2c://host:99999"] {
            #expect(throws: PDPEndpoint.ParseError.self, "\(bad)") { try PDPEndpoint(parsing: bad) }
        }
    }
}
