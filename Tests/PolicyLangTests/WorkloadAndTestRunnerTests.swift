import Foundation
import Testing
@testable import PolicyLang

@Suite("Workload descriptions")
struct WorkloadDescriptionTests {
    @Test func starIsAnUnknownSource() throws {
        #expect(try WorkloadDescription.parse("*") == nil)
        #expect(try WorkloadDescription.parse("  *  ") == nil)
    }

    @Test(arguments: [
        ("ns:shop", workload(ns: "shop")),
        ("sa:checkout", workload(sa: "checkout")),
        ("pod:web-7f9c", workload(pod: "web-7f9c")),
        ("spiffe:spiffe://cluster.local/ns/shop/sa/web", workload(spiffe: "spiffe://cluster.local/ns/shop/sa/web")),
        ("app=web", workload(labels: ["app": "web"])),
        ("app==web", workload(labels: ["app": "web"])),
        (
            " ns:shop ,sa:checkout, pod:web-1,spiffe:spiffe://td/x, app=web, app.kubernetes.io/name=api ",
            workload(ns: "shop", sa: "checkout", pod: "web-1", spiffe: "spiffe://td/x", labels: ["app": "web", "app.kubernetes.io/name": "api"])
        ),
        ("ns:shop,\n  app=web", workload(ns: "shop", labels: ["app": "web"])),
        ("ns:shop  # the shop", workload(ns: "shop")),
    ])
    func accepted(_ text: String, _ source: SourceIdentity) throws {
        #expect(try WorkloadDescription.parse(text) == source)
    }

    static let concrete = "a workload description names one concrete workload: use ns:, sa:, pod: (without '*'), spiffe:, key=value and nslabel:key=value"

    @Test(arguments: [
        ("", "<workload>:1:1: error: expected a selector term (ns:NAME, sa:NAME, pod:NAME, spiffe:ID, a label or nslabel:KEY), found end of file [syntax]"),
        ("app!=x", "<workload>:1:1: error: \(concrete), not 'app!=x' [syntax]"),
        ("ns:a, pod:web-*", "<workload>:1:1: error: \(concrete), not 'pod:web-*' [syntax]"),
        ("tier in (a)", "<workload>:1:1: error: \(concrete), not 'tier in (a)' [syntax]"),
        ("tier notin (a)", "<workload>:1:1: error: \(concrete), not 'tier notin (a)' [syntax]"),
        ("canary", "<workload>:1:1: error: \(concrete), not 'canary' [syntax]"),
        ("!legacy", "<workload>:1:1: error: \(concrete), not '!legacy' [syntax]"),
        ("ns:a ns:b", "<workload>:1:6: error: expected ',' or the end of the workload, found 'ns:b' [syntax]"),
        ("ns:a -> x.com", "<workload>:1:6: error: expected ',' or the end of the workload, found '->' [syntax]"),
        ("*, ns:a", "<workload>:1:1: error: '*' stands alone as a selector; it cannot be combined with other terms [syntax]"),
        ("ns:Shop", "<workload>:1:1: error: namespace 'Shop' must be lower-case letters, digits and '-', starting and ending with a letter or digit [invalid-selector]"),
        ("ns:a, app=", "<workload>:1:11: error: expected a label value after '=', found end of line [syntax]"),
        ("namespace:a", "<workload>:1:1: error: unknown selector term 'namespace:'; expected ns:, sa:, pod:, spiffe:, nslabel: or a label [invalid-selector]"),
    ])
    func refused(_ text: String, _ rendered: String) {
        let failure = #expect(throws: WorkloadDescription.Failure.self) { try WorkloadDescription.parse(text) }
        #expect(failure?.diagnostics.map(\.rendered) == [rendered])
    }

    @Test func diagnosticsNameTheOrigin() {
        let failure = #expect(throws: WorkloadDescription.Failure.self) {
            try WorkloadDescription.parse("ns:a, sa:Bad", origin: "--from")
        }
        #expect(failure?.diagnostics.map(\.rendered) == [
            "--from:1:7: error: service account 'Bad' must be lower-case letters, digits, '-' and '.', each part starting and ending with a letter or digit [invalid-selector]"
        ])
    }

    @Test func aSecondLineIsNotIgnored() {
        #expect(throws: WorkloadDescription.Failure.self) { try WorkloadDescription.parse("ns:shop\napp=web") }
    }
}

@Suite("Policy test runner")
struct PolicyTestRunnerTests {
    static let policy = """
        allow * -> service1.foo.com
        allow app=A -> *.foo.com as app-a
        allow ns:shop, sa:checkout -> api.stripe.com:443 as checkout
        deny  ns:dev -> *.prod.foo.com as dev-not-prod
        """

    @Test func reportsEachExpectationWithItsDecision() throws {
        let tests = parse(
            """
            # passing
            expect allow  * -> service1.foo.com
            expect allow  app=A, ns:dev -> api.foo.com
            expect deny   ns:dev, app=A -> api.prod.foo.com
            expect allow  ns:shop, sa:checkout -> api.stripe.com

            # failing
            expect allow  ns:shop, sa:checkout -> api.stripe.com:8443
            expect deny   app=A -> x.foo.com
            expect allow  * -> api.foo.com
            """, path: "policies/policy_test.egress")
        #expect(tests.diagnostics.isEmpty)
        let results = PolicyTestRunner.run(tests, against: try compile(Self.policy))
        #expect(results.map(\.passed) == [true, true, true, true, false, false, false])
        #expect(results.map(\.location) == [
            "policies/policy_test.egress:2", "policies/policy_test.egress:3", "policies/policy_test.egress:4",
            "policies/policy_test.egress:5", "policies/policy_test.egress:8", "policies/policy_test.egress:9",
            "policies/policy_test.egress:10",
        ])
        #expect(results.map { $0.decision.rule?.name } == [nil, "app-a", "dev-not-prod", "checkout", nil, "app-a", nil])
        #expect(results[4].decision.verdict == .deny)
        #expect(results[4].expectation.port == 8443)
        #expect(results[5].decision.verdict == .allow)
    }

    @Test func theDefaultPortIs443() throws {
        let index = try compile("allow * -> web.example:80\nallow * -> tls.example:443\n")
        let results = PolicyTestRunner.run(
            parse("expect allow * -> web.example\nexpect allow * -> tls.example\nexpect allow * -> web.example:80\n", path: "p_test.egress"),
            against: index)
        #expect(results.map(\.passed) == [false, true, true])
    }

    @Test func aStarWorkloadIsAnUnknownSource() throws {
        let index = try compile("allow !app -> x.com\n")
        let results = PolicyTestRunner.run(
            parse("expect deny * -> x.com\nexpect allow ns:a -> x.com\n", path: "p_test.egress"), against: index)
        #expect(results.map(\.passed) == [true, true])
    }

    @Test func aFileWithoutExpectationsHasNoResults() throws {
        let results = PolicyTestRunner.run(parse("# nothing\n", path: "p_test.egress"), against: try compile(Self.policy))
        #expect(results.isEmpty)
    }

    @Test func theExamplePolicyTestsPass() throws {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("policies")
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".egress") }
            .map { SourceFile(path: $0, bytes: Array(try Data(contentsOf: directory.appendingPathComponent($0)))) }
        let set = PolicySet(files: files)
        let index = try PolicyCompiler.compile(set)
        let tests = try #require(set.testFiles.first)
        #expect(tests.diagnostics.isEmpty)
        let results = PolicyTestRunner.run(tests, against: index)
        #expect(results.count > 20)
        #expect(results.filter { !$0.passed }.map(\.location) == [])
    }
}
