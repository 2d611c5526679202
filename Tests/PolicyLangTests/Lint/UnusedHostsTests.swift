import Testing
@testable import PolicyLang

/// `unused-hosts`: a host list that no rule uses.
@Suite("Lint: unused-hosts")
struct UnusedHostsTests {
    @Test func aListNoRuleNames() {
        let findings = LintMarkers(
            """
            hosts used = a.com
            hosts  stale = b.com   # expect: unused-hosts
            allow * -> $used
            """
        ).check(.unusedHosts)
        #expect(findings.map(\.rendered) == [
            "policy.egress:2:8: warning: host list 'stale' is not used by any rule [unused-hosts]"
        ])
        #expect(findings.first?.help == "use it as $stale, or remove it")
    }

    @Test func usesCountFromAnyFileAnyEffectAndDryRun() {
        LintMarkers(files: [
            (path: "a.egress", text: "hosts x = a.com\nhosts y = b.com\nhosts z = c.com\nhosts w = d.com   # expect: unused-hosts\n"),
            (path: "b.egress", text: "allow ns:a -> $x\ndeny * -> e.com, $y\nallow * -> $z dry-run\n"),
        ]).check(.unusedHosts)
    }

    @Test func everyUnusedListIsReported() {
        LintMarkers(
            """
            hosts a = a.com   # expect: unused-hosts
            hosts b = b.com   # expect: unused-hosts
            allow * -> x.com
            """
        ).check(.unusedHosts)
    }

    /// The rule that uses a list may be the one that failed to parse, so a
    /// set with errors gets its errors and no guesses.
    @Test func silentWhileTheSetHasErrors() {
        let set = PolicySet(files: [SourceFile(path: "p.egress", text: "hosts a = a.com\nallow * => $a\n")])
        let ids = Linter(publicSuffixes: .implicitOnly).lint(set).map(\.id)
        #expect(!ids.isEmpty)
        #expect(!ids.contains(.unusedHosts))
    }
}
