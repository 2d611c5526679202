/// Runs the `expect` lines of a test file against a compiled policy set.
public enum PolicyTestRunner {
    public struct Result: Sendable {
        public let file: SourceFile
        public let expectation: Expectation
        public let decision: Decision

        public var passed: Bool { decision.verdict == expectation.verdict }
        public var line: Int { file.location(of: expectation.span.lowerBound).line }
        public var location: String { "\(file.path):\(line)" }
    }

    public static func run(_ tests: ParsedFile, against index: PolicyIndex) -> [Result] {
        tests.expectations.map { expectation in
            Result(
                file: tests.file, expectation: expectation,
                decision: index.decide(source: expectation.source, host: expectation.host, port: expectation.port))
        }
    }
}
