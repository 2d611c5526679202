import ArgumentParser
import PolicyLang

struct TestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test",
        abstract: "Run the *_test.egress files against their policy sets.",
        discussion: """
            Every *_test.egress file under PATHs runs against the policy set of the
            directory it is in. Each line 'expect allow|deny WORKLOAD -> HOST[:PORT]'
            is one test (port 443 when none is given). Prints every failure with the
            deciding rule and ends with 'N passed, M failed'. Exit 1 if a test failed
            or a policy set or test file has errors.
            """)

    @Flag(name: .shortAndLong, help: "Print passing tests too.")
    var verbose = false

    @Argument(help: "Test files or directories to search for them.")
    var paths: [String]

    func run() throws {
        try reportingFileErrors {
            let testPaths = try PolicyFiles.find(paths).filter { $0.hasSuffix("_test.egress") }
            if testPaths.isEmpty { throw PolicyFiles.ReadError(path: paths.joined(separator: " "), reason: "no *_test.egress files found") }
            var byDirectory: [String: [String]] = [:]
            for path in testPaths { byDirectory[PolicyFiles.directory(of: path), default: []].append(path) }

            var passed = 0
            var failed = 0
            var broken = false
            for (directory, tests) in byDirectory.sorted(by: { $0.key < $1.key }) {
                let set = PolicySet(files: try (PolicyFiles.policyPaths(in: directory) + tests).map(PolicyFiles.read))
                let errors = set.diagnostics.filter { $0.severity == .error }
                guard errors.isEmpty else {
                    StandardStreams.err(errors.map(DiagnosticRenderer.text).joined())
                    StandardStreams.err("\(directory): cannot run tests: the policy set or its tests have errors\n")
                    broken = true
                    continue
                }
                let index = try PolicyCompiler.compile(set)
                for testFile in set.testFiles {
                    for result in PolicyTestRunner.run(testFile, against: index) {
                        if result.passed {
                            passed += 1
                            if verbose { StandardStreams.out("PASS \(result.location): \(describe(result))\n") }
                        } else {
                            failed += 1
                            StandardStreams.out("FAIL \(result.location): \(describe(result))\n")
                        }
                    }
                }
            }
            StandardStreams.out("\(passed) passed, \(failed) failed\n")
            if failed > 0 || broken { throw ExitCode(1) }
        }
    }

    private func describe(_ result: PolicyTestRunner.Result) -> String {
        let e = result.expectation
        let workload = PolicyLang.Formatter.workloadTerms(e.source).joined(separator: ", ")
        let rule = result.decision.rule.map { "decided by \($0)" } ?? "no rule matched (default deny)"
        return "\(workload) -> \(e.host):\(e.port): expected \(e.verdict.rawValue), got \(result.decision.verdict.rawValue), \(rule)"
    }
}
