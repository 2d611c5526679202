import Testing
@testable import PolicyLang

/// `decideAnyPort`: may a source reach a name on some port (the DNS
/// enforcer's question).
@Suite("Evaluator: any port")
struct AnyPortTests {
    @Test func aNameAllowedOnOnePortIsAllowedOnAnyPort() throws {
        let index = try compile(
            """
            allow ns:shop -> api.x.com:8443 as shop-api
            allow ns:web -> *.x.com:80
            """)
        let shop = index.decideAnyPort(source: workload(ns: "shop"), host: "api.x.com")
        #expect(shop.verdict == .allow)
        #expect(shop.rule?.name == "shop-api")
        #expect(index.decideAnyPort(source: workload(ns: "web"), host: "api.x.com").verdict == .allow)
        let other = index.decideAnyPort(source: workload(ns: "ci"), host: "api.x.com")
        #expect(other.verdict == .deny)
        #expect(other.rule == nil)
        #expect(index.decideAnyPort(source: workload(ns: "shop"), host: "www.x.com").verdict == .deny)
    }

    @Test func aDenyThatCoversEveryAllowedPortDeniesAndIsNamed() throws {
        let index = try compile(
            """
            deny  ns:shop -> *:22 as no-ssh
            allow ns:shop -> x.com:443
            deny  ns:shop -> x.com:400-500 as no-x
            allow ns:shop -> y.com:443
            deny  ns:shop -> y.com:1-442 as low-y
            """)
        let x = index.decideAnyPort(source: workload(ns: "shop"), host: "x.com")
        #expect(x.verdict == .deny)
        #expect(x.rule?.name == "no-x")
        // y.com:443 is left: a deny over other ports does not take the name away.
        let y = index.decideAnyPort(source: workload(ns: "shop"), host: "y.com")
        #expect(y.verdict == .allow)
        #expect(y.ruleLocation == "policy.egress:4")
        // Only the port-22 deny matches z.com: that is a default deny, not that rule.
        let z = index.decideAnyPort(source: workload(ns: "shop"), host: "z.com")
        #expect(z.verdict == .deny)
        #expect(z.rule == nil)
    }

    @Test func decideWithAnyPortIsTheSameQuestion() throws {
        let index = try compile("allow ns:shop -> api.x.com:8443 as shop-api\n")
        let asked = index.decide(source: workload(ns: "shop"), host: "api.x.com", port: PolicyIndex.anyPort)
        #expect(asked == index.decideAnyPort(source: workload(ns: "shop"), host: "api.x.com"))
        #expect(asked.verdict == .allow)
    }

    @Test func aDenyOverEveryPortIsNamed() throws {
        let index = try compile("deny * -> *.evil.example as tunnel\nallow * -> *\n")
        let decision = index.decideAnyPort(source: nil, host: "a1b2.evil.example")
        #expect(decision.verdict == .deny)
        #expect(decision.rule?.name == "tunnel")
    }

    @Test func dryRunRulesAreCountedInTheDryRunVerdictOnly() throws {
        let index = try compile(
            """
            allow ns:shop -> x.com:443
            deny ns:shop -> x.com as soon dry-run
            """)
        let decision = index.decideAnyPort(source: workload(ns: "shop"), host: "x.com")
        #expect(decision.verdict == .allow)
        #expect(decision.dryRunVerdict == .deny)
        #expect(decision.dryRunRule?.name == "soon")
    }

    /// Random sets: allowed on any port exactly when some port is allowed
    /// by the naive evaluator, the allowing rule being that of the lowest
    /// such port. The vocabulary's ranges only start or end at these ports.
    @Test func agreesWithTheNaiveEvaluatorOverEveryRangeBoundary() throws {
        let boundaries = [1, 80, 81, 100, 101, 443, 444, 8000, 8444, 65535]
        var random = XorShift(seed: 0xA11_B0A7)
        for round in 0..<200 {
            let set = RandomPolicySet(&random)
            let index = try compile(set.files.map { (path: $0.path, text: $0.text) })
            for _ in 0..<20 {
                let request = RandomRequest(&random)
                let actual = index.decideAnyPort(source: request.source, host: request.host)
                let perPort = boundaries.map { port in
                    set.decide(RandomRequest(source: request.source, host: request.host, port: port))
                }
                let allowed = perPort.first { $0.verdict == .allow }
                let dryAllowed = perPort.first { $0.dryRunVerdict == .allow }
                guard actual.verdict == (allowed == nil ? .deny : .allow),
                    actual.dryRunVerdict == (dryAllowed == nil ? .deny : .allow),
                    allowed == nil || actual.rule?.location == allowed?.rule,
                    dryAllowed == nil || actual.dryRunRule?.location == dryAllowed?.dryRunRule
                else {
                    Issue.record(
                        """
                        round \(round): \(request) on any port
                        index: \(actual.verdict) by \(actual.rule?.location ?? "-"), dry-run \(actual.dryRunVerdict) by \(actual.dryRunRule?.location ?? "-")
                        reference per port: \(zip(boundaries, perPort).map { "\($0): \($1.verdict) \($1.rule ?? "-") dry-run \($1.dryRunVerdict) \($1.dryRunRule ?? "-")" })
                        \(set.files.map { "--- \($0.path)\n\($0.text)" }.joined(separator: "\n"))
                        """)
                    return
                }
            }
        }
    }
}

