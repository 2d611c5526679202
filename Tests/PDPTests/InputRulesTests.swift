import EgressAPI
import NIOCore
import Testing

@testable import PDP

/// The small rules for what the service accepts and when it gives up:
/// printable text, revision paths, a connection's clocks.
struct InputRulesTests {
    @Test(arguments: ["api.stripe.com\u{0}.evil", "a\nb", "a\u{1B}[2J", "a\u{7F}", "a\u{85}"])
    func controlCharactersAreRefusedAndNamed(_ text: String) {
        let problem = PrintableText.problem(text, field: "host")
        #expect(problem?.hasPrefix("'host' contains the control character U+") == true)
    }

    @Test(arguments: ["api.stripe.com", "bücher.example", "", "a b"])
    func printableTextIsAccepted(_ text: String) {
        #expect(PrintableText.problem(text, field: "host") == nil)
    }

    @Test(arguments: ["00-cluster.egress", "team/a_b-c.egress", "policy_test.egress", "A/B/C.egress"])
    func plainRelativePathsAreAccepted(_ path: String) {
        #expect(RevisionPath.problem(path) == nil)
    }

    @Test(arguments: [
        "", "x.txt", "/abs.egress", "a/../b.egress", "..\\x.egress", "./a.egress", "a//b.egress", "a\u{0}.egress", "a\nb.egress",
        "\u{202E}x.egress", ".hidden.egress", "-flag.egress", "a b.egress", String(repeating: "a", count: 300) + ".egress",
    ])
    func anythingElseIsRefused(_ path: String) {
        #expect(RevisionPath.problem(path) != nil)
    }

    @Test func aConnectionThatSendsNothingMissesItsPreface() {
        var clock = ConnectionDeadlines(preface: .seconds(2), idle: .seconds(8), request: .seconds(4))
        #expect(clock.tick == .milliseconds(500))
        for _ in 0..<3 { #expect(clock.advance(busy: false) == nil) }
        #expect(clock.advance(busy: false) == .prefaceTimeout)
    }

    @Test func idleMeansNoFrameAndNothingOpen() {
        var clock = ConnectionDeadlines(preface: .seconds(4), idle: .seconds(4), request: .seconds(4))
        clock.frameRead()
        // A watch or a request open: never idle.
        for _ in 0..<20 { #expect(clock.advance(busy: true) == nil) }
        clock.frameRead()
        for _ in 0..<3 { #expect(clock.advance(busy: false) == nil) }
        #expect(clock.advance(busy: false) == .idleTimeout)
    }

    @Test func aRequestExpiresByItsOwnAge() {
        var clock = ConnectionDeadlines(preface: .seconds(4), idle: .seconds(60), request: .seconds(4))
        clock.frameRead()
        let opened = clock.now
        for _ in 0..<3 { _ = clock.advance(busy: true) }
        #expect(!clock.requestExpired(openedAt: opened))
        _ = clock.advance(busy: true)
        #expect(clock.requestExpired(openedAt: opened))
    }
}
