import Testing
@testable import PolicyLang

/// `nslabel:` selector terms: the labels of a workload's namespace, with the
/// meanings pod labels have (policy-language.md, "Selectors").
@Suite("Namespace labels")
struct NamespaceLabelTests {
    static func shop(_ namespaceLabels: [String: String], labels: [String: String] = [:]) -> SourceIdentity {
        SourceIdentity(namespace: "shop", labels: labels, namespaceLabels: namespaceLabels)
    }

    @Test func everyFormMatchesTheNamespacesLabelsNotThePods() throws {
        let index = try compile(
            """
            allow nslabel:team=payments -> equals.example
            allow nslabel:team!=payments -> not-equals.example
            allow nslabel:tier in (gold, silver) -> in.example
            allow nslabel:tier notin (gold) -> notin.example
            allow nslabel:kubernetes.io/metadata.name -> exists.example
            allow !nslabel:frozen -> absent.example
            """)
        let payments = Self.shop(["team": "payments", "tier": "gold", "kubernetes.io/metadata.name": "shop"])
        let podOnly = Self.shop([:], labels: ["team": "payments", "tier": "gold", "kubernetes.io/metadata.name": "shop", "frozen": "yes"])
        let frozen = Self.shop(["team": "web", "tier": "bronze", "frozen": "yes"])
        func allowed(_ source: SourceIdentity) -> [String] {
            ["equals", "not-equals", "in", "notin", "exists", "absent"].filter {
                index.verdict(source, "\($0).example") == .allow
            }
        }
        #expect(allowed(payments) == ["equals", "in", "exists", "absent"])
        // A pod's own labels never satisfy a namespace label term.
        #expect(allowed(podOnly) == ["not-equals", "notin", "absent"])
        #expect(allowed(frozen) == ["not-equals", "notin"])
        // A source with no known identity matches only `*`.
        #expect(index.verdict(nil, "not-equals.example") == .deny)
    }

    @Test func termsParseFormatAndKeepTheirPrefix() throws {
        let file = parse("allow ns:shop, nslabel:team=payments, nslabel:tier in (a, b), !nslabel:frozen -> x.example\n")
        #expect(file.diagnostics.isEmpty)
        guard case .rule(let rule) = file.statements.first, case .all(let terms) = rule.selector else {
            Issue.record("not a rule: \(file.statements)")
            return
        }
        #expect(terms == [
            .namespace("shop"), .labelEquals(key: "nslabel:team", value: "payments"),
            .labelIn(key: "nslabel:tier", values: ["a", "b"]), .labelAbsent("nslabel:frozen"),
        ])
        #expect(rule.selector.description == "ns:shop, nslabel:team=payments, nslabel:tier in (a, b), !nslabel:frozen")
    }

    @Test func aKeyThatBreaksKubernetesRulesIsAnError() {
        for text in ["allow nslabel:-bad=x -> x.example\n", "allow nslabel:=x -> x.example\n", "allow nslabel:team=-x -> x.example\n"] {
            let errors = loadDiagnostics(text).filter { $0.severity == .error }
            #expect(!errors.isEmpty, "\(text)")
        }
        #expect(loadDiagnostics("allow nslabel:a.b/c_d-e=v1 -> x.example\n").isEmpty)
    }

    @Test func aWorkloadDescriptionGivesNamespaceLabels() throws {
        let source = try WorkloadDescription.parse("ns:shop, app=web, nslabel:team=payments")
        #expect(source == SourceIdentity(namespace: "shop", labels: ["app": "web"], namespaceLabels: ["team": "payments"]))
        #expect(throws: WorkloadDescription.Failure.self) {
            try WorkloadDescription.parse("ns:shop, nslabel:team=a, nslabel:team=b")
        }
        let results = PolicyTestRunner.run(
            parse(
                """
                expect allow ns:shop, nslabel:team=payments -> api.stripe.com
                expect deny  ns:shop, team=payments -> api.stripe.com
                """, path: "p_test.egress"),
            against: try compile("allow nslabel:team=payments -> api.stripe.com\n"))
        #expect(results.map(\.passed) == [true, true])
    }

    @Test func shadowingTreatsThemAsLabelTermsOfTheirOwn() {
        let findings = LintMarkers(
            """
            allow nslabel:team=payments -> *.stripe.com
            allow nslabel:team=payments, ns:shop -> api.stripe.com   # expect: shadowed-rule
            allow team=payments -> api.stripe.com
            allow nslabel:team in (payments) -> x.stripe.com         # expect: shadowed-rule
            """
        ).check(.shadowedRule)
        #expect(findings.count == 2)
        #expect(SelectorSubsumption.implies(.labelEquals(key: "nslabel:a", value: "b"), .labelExists("nslabel:a")))
        #expect(!SelectorSubsumption.implies(.labelEquals(key: "a", value: "b"), .labelExists("nslabel:a")))
        #expect(!SelectorSubsumption.implies(.labelEquals(key: "nslabel:a", value: "b"), .labelExists("a")))
    }
}
