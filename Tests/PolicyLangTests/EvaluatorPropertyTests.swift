import Testing
@testable import PolicyLang

/// Random small policy sets and requests: the index's decision must equal that
/// of a naive evaluator that scans every rule, written here from the spec.
@Suite("Evaluator: against a naive reference")
struct EvaluatorPropertyTests {
    @Test func indexAgreesWithNaiveEvaluator() throws {
        var random = XorShift(seed: 0x5EED_2024_0E6E_55)
        var decisions = 0
        for round in 0..<300 {
            let set = RandomPolicySet(&random)
            let index = try compile(set.files.shuffled(using: &random).map { (path: $0.path, text: $0.text) })
            for _ in 0..<40 {
                let request = RandomRequest(&random)
                let actual = index.decide(source: request.source, host: request.host, port: request.port)
                let expected = set.decide(request)
                decisions += 1
                guard actual.verdict == expected.verdict, actual.rule?.location == expected.rule,
                    actual.dryRunVerdict == expected.dryRunVerdict, actual.dryRunRule?.location == expected.dryRunRule
                else {
                    Issue.record(
                        """
                        round \(round): \(request)
                        index:     \(actual.verdict) by \(actual.rule?.location ?? "-"), dry-run \(actual.dryRunVerdict) by \(actual.dryRunRule?.location ?? "-")
                        reference: \(expected.verdict) by \(expected.rule ?? "-"), dry-run \(expected.dryRunVerdict) by \(expected.dryRunRule ?? "-")
                        \(set.files.map { "--- \($0.path)\n\($0.text)" }.joined(separator: "\n"))
                        """)
                    return
                }
            }
        }
        #expect(decisions == 12_000)
    }
}
