import Testing
@testable import PolicyLang

/// `shadowed-rule`: it finds rules that can never decide anything, and never
/// reports a rule that can.
@Suite("Lint: shadowed-rule")
struct ShadowedRuleTests {
    // MARK: Finds dead rules

    @Test func anAllowCoveredByAnEarlierBroaderAllow() {
        let findings = LintMarkers(
            """
            allow app=A -> *.foo.com as app-a
            allow app=A, ns:shop -> x.foo.com   # expect: shadowed-rule
            allow app=A -> a.b.foo.com:443      # expect: shadowed-rule
            allow app=A -> *.x.foo.com          # expect: shadowed-rule
            """
        ).check(.shadowedRule)
        #expect(findings.first?.rendered
            == "policy.egress:2:1: warning: this allow rule never decides anything: every request it matches is decided by policy.egress:1 (app-a) [shadowed-rule]")
        #expect(findings.first?.help == "remove it, or narrow the rule that covers it")
    }

    @Test func anAllowCoveredByABroaderDenyEarlierOrLater() {
        let findings = LintMarkers(
            """
            allow ns:dev -> api.prod.example.com   # expect: shadowed-rule
            deny  ns:dev -> *.prod.example.com
            allow ns:dev, app=web -> *.a.prod.example.com   # expect: shadowed-rule
            allow ns:dev -> *.staging.example.com
            """
        ).check(.shadowedRule)
        #expect(findings.first?.message
            == "this allow rule never decides anything: every request it matches is decided by policy.egress:2")
    }

    @Test func aDenyCoveredByAnEarlierBroaderDeny() {
        let findings = LintMarkers(
            """
            deny * -> pastebin.com, *.pastebin.com
            deny ns:dev -> x.pastebin.com                   # expect: shadowed-rule
            deny ns:dev -> pastebin.com:443, a.b.pastebin.com  # expect: shadowed-rule
            """
        ).check(.shadowedRule)
        #expect(findings.first?.message
            == "this deny rule never decides anything: every request it matches is decided by policy.egress:1")
    }

    @Test func selectorSubsumption() {
        LintMarkers(
            """
            allow * -> star.com
            allow ns:a, sa:b, pod:web-1, app=x -> star.com   # expect: shadowed-rule
            allow tier in (a, b) -> in.com
            allow tier in (b) -> in.com                     # expect: shadowed-rule
            allow tier=a, ns:x -> in.com                    # expect: shadowed-rule
            allow tier in (a, c) -> in.com
            allow tier notin (a) -> notin.com
            allow tier notin (a, b) -> notin.com            # expect: shadowed-rule
            allow tier=b -> notin.com                       # expect: shadowed-rule
            allow !tier -> notin.com                        # expect: shadowed-rule
            allow tier in (b, c) -> notin.com               # expect: shadowed-rule
            allow tier!=a -> ne.com
            allow tier=b -> ne.com                          # expect: shadowed-rule
            allow !tier -> ne.com                           # expect: shadowed-rule
            allow tier notin (a, c) -> ne.com               # expect: shadowed-rule
            allow tier!=a, app=web -> ne.com                # expect: shadowed-rule
            allow tier -> exists.com
            allow tier=a -> exists.com                      # expect: shadowed-rule
            allow tier in (a, b) -> exists.com              # expect: shadowed-rule
            allow pod:web-* -> pod.com
            allow pod:web-1 -> pod.com                      # expect: shadowed-rule
            allow pod:web-*, ns:a -> pod.com                # expect: shadowed-rule
            allow spiffe:spiffe://td/ns/a -> spiffe.com
            allow spiffe:spiffe://td/ns/a, app=x -> spiffe.com   # expect: shadowed-rule
            """
        ).check(.shadowedRule)
    }

    @Test func portsAndRanges() {
        LintMarkers(
            """
            allow * -> x.com:1-1024
            allow * -> x.com:443              # expect: shadowed-rule
            allow * -> x.com:1000-1024        # expect: shadowed-rule
            allow * -> y.com
            allow * -> y.com:8000-8080        # expect: shadowed-rule
            deny  * -> z.com:22
            allow * -> z.com:22               # expect: shadowed-rule
            """
        ).check(.shadowedRule)
    }

    @Test func hostListsAreExpanded() {
        LintMarkers(
            """
            hosts web = a.com, *.b.com:443
            allow * -> $web
            allow ns:x -> a.com, c.b.com:443       # expect: shadowed-rule
            allow * -> *.org
            hosts org = x.org, *.y.org
            allow ns:x -> $org                      # expect: shadowed-rule
            """
        ).check(.shadowedRule)
    }

    @Test func namesEveryCoveringRule() {
        let findings = LintMarkers(
            """
            allow * -> a.com as first
            deny  ns:dev -> *.b.com
            allow ns:dev -> a.com, x.b.com   # expect: shadowed-rule
            """
        ).check(.shadowedRule)
        #expect(findings.map(\.message) == [
            "this allow rule never decides anything: every request it matches is decided by policy.egress:1 (first), policy.egress:2"
        ])
    }

    @Test func acrossFilesInSortedPathOrder() {
        LintMarkers(files: [
            (path: "b.egress", text: "allow ns:a -> x.com   # expect: shadowed-rule\nallow * -> *.y.com\n"),
            (path: "a.egress", text: "allow * -> x.com\nallow ns:a -> z.y.com\n"),
        ]).check(.shadowedRule)
    }

    @Test func dryRunRulesAreJudgedInTheDryRunEvaluation() {
        let findings = LintMarkers(
            """
            allow ns:a -> a.com
            allow ns:a -> a.com dry-run            # expect: shadowed-rule
            deny  * -> b.com dry-run
            allow ns:a -> b.com dry-run            # expect: shadowed-rule
            deny  * -> c.com
            allow * -> c.com dry-run               # expect: shadowed-rule
            deny  * -> *.d.com
            deny  * -> x.d.com dry-run             # expect: shadowed-rule
            allow * -> e.com dry-run
            allow * -> e.com:443 dry-run           # expect: shadowed-rule
            """
        ).check(.shadowedRule)
        #expect(findings.first?.message
            == "this dry-run allow rule never decides anything: every request it matches is decided by policy.egress:1")
    }

    // MARK: Never reports a rule that can decide something

    @Test func anAllowBeforeABroaderAllowDecidesItsRequests() {
        LintMarkers(
            """
            allow app=A -> x.foo.com as specific
            allow ns:a, app=A -> *.foo.com
            allow * -> *.foo.com
            allow tier in (a) -> y.com
            allow tier in (a, b) -> y.com
            """
        ).check(.shadowedRule)
    }

    @Test func aPartlyCoveredRuleIsNotReported() {
        LintMarkers(
            """
            allow * -> a.com
            allow ns:x -> a.com, b.com
            allow app=A -> c.com
            allow ns:shop -> c.com
            allow * -> p.com:443
            allow * -> p.com:400-500
            allow * -> p.com
            deny  * -> q.com:22
            allow * -> q.com
            allow * -> *.r.com
            allow * -> r.com
            allow tier notin (a, b) -> s.com
            allow tier!=a -> s.com
            allow !tier -> t.com
            allow tier!=a -> t.com
            allow tier notin (a, b) -> u.com
            allow tier notin (a) -> u.com
            allow tier in (a) -> v.com
            allow tier in (a, c) -> v.com
            allow pod:web-1 -> w.com
            allow pod:web-* -> w.com
            allow ns:a -> x.com
            allow * -> x.com
            allow !app -> y.com
            allow * -> y.com
            """
        ).check(.shadowedRule)
    }

    @Test func anEnforcedRuleCoveredOnlyByADryRunRuleStillDecides() {
        LintMarkers(
            """
            deny  * -> *.com dry-run
            allow ns:a -> x.com
            allow ns:b -> y.org dry-run
            allow ns:b -> y.org
            deny  ns:c -> z.org dry-run
            deny  ns:c -> z.org
            """
        ).check(.shadowedRule)
    }

    @Test func aDryRunRuleBeforeTheRuleThatCoversItDecidesTheDryRunVerdict() {
        LintMarkers(
            """
            deny  ns:a -> x.com dry-run
            deny  * -> x.com
            allow ns:b -> y.com dry-run
            allow * -> y.com
            """
        ).check(.shadowedRule)
    }

    @Test func aRuleCoveredOnlyByTheUnionOfTwoRulesMayGoUnreported() {
        // Neither covering rule is reported: each decides requests of its own.
        LintMarkers(
            """
            allow tier=a -> x.com
            allow tier!=a -> x.com
            allow tier -> x.com           # allowed: shadowed-rule
            allow * -> y.com:1-1000
            allow * -> y.com:1001-65535
            allow * -> y.com              # allowed: shadowed-rule
            """
        ).check(.shadowedRule)
    }

    /// Random policy sets and requests: no decision, enforced or dry-run, is
    /// ever made by a rule that shadowed-rule reported.
    @Test func aReportedRuleNeverDecidesARandomRequest() throws {
        var random = XorShift(seed: 0xD1E5_0F_5AD0)
        var reportedRules = 0
        for _ in 0..<300 {
            let policies = RandomPolicySet(&random)
            let set = PolicySet(files: policies.files.map { SourceFile(path: $0.path, text: $0.text) })
            let reported = Set(
                Linter(publicSuffixes: .implicitOnly, rules: [ShadowedRule()]).lint(set).filter { $0.id == .shadowedRule }
                    .map { "\($0.file.path):\($0.location.line)" })
            guard !reported.isEmpty else { continue }
            reportedRules += reported.count
            let index = try PolicyCompiler.compile(set)
            for _ in 0..<100 {
                let request = RandomRequest(&random)
                let decision = index.decide(source: request.source, host: request.host, port: request.port)
                for rule in [decision.rule, decision.dryRunRule].compactMap(\.self) where reported.contains(rule.location) {
                    Issue.record(
                        """
                        \(rule.location) was reported as shadowed but decided \(request)
                        \(policies.files.map { "--- \($0.path)\n\($0.text)" }.joined(separator: "\n"))
                        """)
                    return
                }
            }
        }
        #expect(reportedRules > 100, "the generator should produce shadowed rules")
    }

    @Test func stillRunWhenOnlyATestFileHasErrors() {
        // A typo in a test file says nothing about the rules: they are complete.
        let set = PolicySet(files: [
            SourceFile(path: "p.egress", text: "allow * -> *.foo.com\nallow * -> x.foo.com\n"),
            SourceFile(path: "p_test.egress", text: "expect allw * -> x.foo.com\n"),
        ])
        let ids = Linter(publicSuffixes: .implicitOnly).lint(set).map(\.id)
        #expect(ids == [.shadowedRule, .syntax])
    }

    @Test func notRunOnASetWithErrors() {
        let set = PolicySet(files: [SourceFile(path: "p.egress", text: "allow * -> *.com\nallow * -> x.com\nallow * -> a_b\n")])
        let ids = Linter(publicSuffixes: .implicitOnly).lint(set).map(\.id)
        #expect(ids.contains(.invalidHost))
        #expect(!ids.contains(.shadowedRule))
    }
}
