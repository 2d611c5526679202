import Testing
@testable import PolicyLang

/// `allow-all`: `allow * -> *`, which turns the egress firewall off.
@Suite("Lint: allow-all")
struct AllowAllTests {
    @Test func allowStarToStar() {
        let findings = LintMarkers(
            """
            allow ns:a -> x.com
            allow * -> *   # expect: allow-all
            """
        ).check(.allowAll)
        #expect(findings.map(\.rendered) == [
            "policy.egress:2:1: warning: 'allow * -> *' lets every workload reach every host [allow-all]"
        ])
        #expect(findings.first?.help == "allow the hosts your workloads need")
    }

    @Test func amongOtherHostsNamedOrInDryRun() {
        let findings = LintMarkers(
            """
            allow * -> x.com, * as open   # expect: allow-all
            allow * -> a.com,             # expect: allow-all
                  *
            allow * -> * dry-run          # expect: allow-all
            """
        ).check(.allowAll)
        #expect(findings.last?.message == "'allow * -> *' lets every workload reach every host (in dry-run)")
    }

    @Test func narrowerRulesAreNotAllowAll() {
        LintMarkers(
            """
            allow * -> *:443
            allow ns:a -> *
            allow !app -> *
            deny  * -> *
            allow * -> *.com
            """
        ).check(.allowAll)
    }

    @Test func throughAHostListItIsStillReported() {
        let set = PolicySet(files: [SourceFile(path: "p.egress", text: "hosts everything = *\nallow * -> $everything\n")])
        let findings = Linter(publicSuffixes: .implicitOnly).lint(set)
        // Today as broad-host on the list's '*'; allow-all would say the same more plainly.
        #expect(!findings.isEmpty)
        #expect(findings.allSatisfy { $0.id == .broadHost || $0.id == .allowAll })
    }
}
