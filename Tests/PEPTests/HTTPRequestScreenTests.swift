import NIOHTTP1
import Testing

@testable import PEP

/// What a plain-HTTP request head says on its own: the host it is for, or
/// why it never goes upstream. (Tests/e2e/http-e2e sends the same framing
/// tricks as bytes through the real decoder.)
struct HTTPRequestScreenTests {
    static func head(_ headers: [(String, String)], uri: String = "/", version: HTTPVersion = .http1_1) -> HTTPRequestHead {
        HTTPRequestHead(version: version, method: .GET, uri: uri, headers: HTTPHeaders(headers))
    }

    @Test func theHostComesFromHostOrTheAbsoluteForm() {
        #expect(HTTPRequestScreen.screen(Self.head([("Host", "Example.COM.")])) == .forward(host: "example.com", port: nil))
        #expect(HTTPRequestScreen.screen(Self.head([("Host", "example.com:8080")])) == .forward(host: "example.com", port: 8080))
        // An IPv6 literal is the host CONNECT gives for it: one verdict key however it came.
        #expect(HTTPRequestScreen.screen(Self.head([("Host", "[2001:db8::1]:80")])) == .forward(host: "2001:db8::1", port: 80))
        #expect(ConnectRequestHandler.parse("[2001:db8::1]:80")?.host == "2001:db8::1")
        #expect(HTTPRequestScreen.screen(Self.head([("Host", "[2001:DB8::1]")])) == .forward(host: "2001:db8::1", port: nil))
        #expect(HTTPRequestScreen.screen(Self.head([], uri: "http://api.example.com/x?y")) == .forward(host: "api.example.com", port: nil))
        #expect(HTTPRequestScreen.screen(Self.head([("Host", "api.example.com")], uri: "http://api.example.com:81/")) == .forward(host: "api.example.com", port: 81))
        #expect(HTTPRequestScreen.originForm("http://api.example.com/x?y=1") == "/x?y=1")
        #expect(HTTPRequestScreen.originForm("http://api.example.com") == "/")
        #expect(HTTPRequestScreen.originForm("/plain") == "/plain")
    }

    @Test(arguments: [
        ([("Host", "a.com"), ("Content-Length", "5"), ("Transfer-Encoding", "chunked")], "both Content-Length and Transfer-Encoding"),
        ([("Host", "a.com"), ("Content-Length", "5"), ("Content-Length", "5")], "Content-Length is given 2 times"),
        ([("Host", "a.com"), ("Content-Length", "+5")], "not a number"),
        ([("Host", "a.com"), ("Transfer-Encoding", "gzip, chunked")], "Transfer-Encoding other than"),
        ([("Host", "a.com"), ("Transfer-Encoding", "chunked"), ("Transfer-Encoding", "chunked")], "Transfer-Encoding other than"),
        ([("Host", "a.com"), ("Host", "b.com")], "Host is given 2 times"),
        ([("Host", "a.com"), ("X", "a\rb")], "invalid bytes"),
        ([("Host", "a.com/../b")], "no valid Host"),
        ([("Host", "user@a.com")], "no valid Host"),
        ([("Host", "a.com:0")], "no valid Host"),
        ([], "no valid Host"),
    ])
    func ambiguousOrHostlessRequestsAreRefused(headers: [(String, String)], why: String) {
        guard case .refuse(let reason) = HTTPRequestScreen.screen(Self.head(headers)) else {
            Issue.record("forwarded: \(headers)")
            return
        }
        #expect(reason.contains(why), "\(reason)")
    }

    @Test func aRequestLineAndHostThatDisagreeAreRefused() {
        let head = Self.head([("Host", "b.com")], uri: "http://a.com/")
        #expect(HTTPRequestScreen.screen(head) == .refuse("the request line's host and the Host header differ"))
        #expect(HTTPRequestScreen.screen(Self.head([], uri: "http://user@a.com/")) == .refuse("the request target is neither a path nor an http:// URL"))
        #expect(HTTPRequestScreen.screen(Self.head([], uri: "https://a.com/")) == .refuse("the request target is neither a path nor an http:// URL"))
    }

    @Test func onlyAProperUpgradeIsAnUpgrade() {
        #expect(HTTPOriginHandler.upgrade(asked: HTTPHeaders([("Upgrade", "websocket"), ("Connection", "keep-alive, Upgrade")])) == "websocket")
        #expect(HTTPOriginHandler.upgrade(asked: HTTPHeaders([("Upgrade", "websocket")])) == nil)
        #expect(HTTPOriginHandler.upgrade(asked: HTTPHeaders([("Connection", "upgrade")])) == nil)
        var headers = HTTPHeaders([("Connection", "close, X-Secret"), ("X-Secret", "1"), ("Keep-Alive", "5"), ("Accept", "*/*")])
        HTTPOriginHandler.dropHopByHop(&headers)
        #expect(headers.map(\.name) == ["Accept"])
    }
}
