import Testing
@testable import PolicyLang

/// `duplicate-rule`: the same rule twice, reported on the later copy.
@Suite("Lint: duplicate-rule")
struct DuplicateRuleTests {
    @Test func theLaterCopyIsReported() {
        let findings = LintMarkers(
            """
            allow ns:shop -> api.stripe.com:443
            deny  ns:dev -> *.prod.com
            allow ns:shop -> api.stripe.com:443   # expect: duplicate-rule
            """
        ).check(.duplicateRule)
        #expect(findings.map(\.rendered) == [
            "policy.egress:3:1: warning: this rule repeats the rule at policy.egress:1 [duplicate-rule]"
        ])
        #expect(findings.first?.help == "remove one of them")
    }

    @Test func spellingAndNamesDoNotMatter() {
        LintMarkers(
            """
            hosts stripe = api.stripe.com:443, files.stripe.com
            allow ns:shop, app=web -> api.stripe.com:443, files.stripe.com as first
            allow app==web, ns:shop -> files.stripe.com, API.Stripe.COM.:443 as second   # expect: duplicate-rule
            allow ns:shop,                                                              # expect: duplicate-rule
                  app=web -> $stripe
            deny * -> *.paste.com, paste.com
            deny  * -> paste.com, *.PASTE.com.  # expect: duplicate-rule
            deny * -> x.com dry-run
            deny * -> x.com dry-run as again    # expect: duplicate-rule
            """
        ).check(.duplicateRule)
    }

    @Test func everyLaterCopyPointsAtTheFirst() {
        let findings = LintMarkers(files: [
            (path: "b.egress", text: "allow * -> x.com   # expect: duplicate-rule\nallow * -> x.com   # expect: duplicate-rule\n"),
            (path: "a.egress", text: "# first\nallow * -> x.com\n"),
        ]).check(.duplicateRule)
        #expect(findings.map(\.message) == [
            "this rule repeats the rule at a.egress:2", "this rule repeats the rule at a.egress:2",
        ])
    }

    @Test func rulesThatDifferInMeaningAreNotDuplicates() {
        LintMarkers(
            """
            allow ns:a -> x.com
            deny  ns:a -> x.com
            allow ns:a -> x.com dry-run
            allow ns:a -> x.com:443
            allow ns:a -> x.com:443-444
            allow ns:b -> x.com
            allow ns:a, app=b -> x.com
            allow ns:a -> *.x.com
            allow ns:a -> x.com, y.com
            allow * -> x.com
            allow app!=b -> x.com
            allow app notin (b) -> x.com
            allow !app -> x.com
            """
        ).check(.duplicateRule)
    }

    @Test func inListsInAnotherOrderAreTheSameRule() {
        let set = PolicySet(files: [SourceFile(path: "p.egress", text: "allow app in (a, b) -> x.com\nallow app in (b, a) -> x.com\n")])
        let findings = Linter(publicSuffixes: .implicitOnly).lint(set)
        // The copy gets a warning either way; the spec's word for it is duplicate-rule.
        #expect(findings.map(\.location.line) == [2])
        #expect(findings.map(\.id) == [.duplicateRule])
    }

    @Test func notRunOnASetWithErrors() {
        let set = PolicySet(files: [SourceFile(path: "p.egress", text: "allow * -> x.com\nallow * -> x.com\nallow ns:BAD -> y.com\n")])
        #expect(!Linter(publicSuffixes: .implicitOnly).lint(set).contains { $0.id == .duplicateRule })
    }
}
