import EgressAPI
import Foundation
import Logging
import NIOConcurrencyHelpers
import PolicyLang

extension DiagnosticRecord {
    init(_ d: Diagnostic) {
        self.init(
            file: d.file.path, line: d.location.line, column: d.location.column, severity: d.severity.rawValue,
            id: d.id.rawValue, message: d.message, help: d.help)
    }
}

/// Checks, stores and activates policy revisions. A set with errors, or whose
/// own tests fail, is refused and the active revision stays.
public final class PolicyManager: Sendable {
    public struct Rejected: Error, Sendable {
        public let message: String
        public let diagnostics: [DiagnosticRecord]
    }

    /// The outcome of checking a set without storing it.
    public struct Check: Sendable {
        public let index: PolicyIndex?
        public let diagnostics: [DiagnosticRecord]
        public let testsPassed: Int
        public let testFailures: [String]
        public var valid: Bool { index != nil && testFailures.isEmpty }
    }

    let database: PDPDatabase
    let engine: DecisionEngine
    let linter: Linter
    let logger: Logger
    /// Store-then-install must not interleave, or the engine could end up on
    /// a different revision than the database says is active.
    private let changes = NIOLock()

    init(database: PDPDatabase, engine: DecisionEngine, linter: Linter, logger: Logger) {
        self.database = database
        self.engine = engine
        self.linter = linter
        self.logger = logger
    }

    /// Checks a set within `budget`; throws when the budget runs out first.
    /// `stored`: the files of a revision stored before, whose paths are held
    /// to the rule of their time (relative, no `..`, `.egress`) so that a
    /// revision stored earlier can still be activated and started from.
    public func check(
        _ files: [Revision.File], budget: LintBudget = .unlimited, stored: Bool = false
    ) throws(LintBudget.Exhausted) -> Check {
        func refuse(_ path: String, _ message: String) -> Check {
            let record = DiagnosticRecord(Diagnostic(.syntax, in: SourceFile(path: "<revision>", text: ""), at: 0..<0, message))
            return Check(index: nil, diagnostics: [record], testsPassed: 0, testFailures: [])
        }
        var seen = Set<String>()
        for file in files {
            if let problem = stored ? RevisionPath.storedProblem(file.path) : RevisionPath.problem(file.path) {
                return refuse(file.path, problem)
            }
            guard seen.insert(file.path).inserted else { return refuse(file.path, "two files have the path '\(file.path)'") }
        }
        let set = PolicySet(files: files.map { SourceFile(path: $0.path, text: $0.content) })
        try budget.check()
        let diagnostics = try linter.lint(set, within: budget)
        let records = diagnostics.map(DiagnosticRecord.init)
        guard !diagnostics.contains(where: { $0.severity == .error }), set.files.count > 0,
            let index = try? PolicyCompiler.compile(set)
        else {
            var records = records
            if set.files.isEmpty {
                records.append(
                    DiagnosticRecord(
                        Diagnostic(.syntax, in: SourceFile(path: "<revision>", text: ""), at: 0..<0,
                                   "a revision needs at least one policy file (*.egress other than *_test.egress)")))
            }
            return Check(index: nil, diagnostics: records, testsPassed: 0, testFailures: [])
        }
        var passed = 0
        var failures: [String] = []
        for tests in set.testFiles {
            try budget.check()
            for result in PolicyTestRunner.run(tests, against: index) {
                if result.passed {
                    passed += 1
                } else {
                    failures.append(
                        "\(result.location): expected \(result.expectation.verdict.rawValue), got \(result.decision.verdict.rawValue)"
                            + (result.decision.rule.map { " by \($0)" } ?? " (no rule matched)"))
                }
            }
        }
        return Check(index: index, diagnostics: records, testsPassed: passed, testFailures: failures)
    }

    /// Checks and stores a new revision; activates it when asked.
    public func create(
        _ files: [Revision.File], author: String, reason: String, activate: Bool, budget: LintBudget = .unlimited
    ) throws -> (revision: Revision, check: Check) {
        let check = try check(files, budget: budget)
        guard let index = check.index else {
            throw Rejected(message: "the policy set has errors; nothing was stored", diagnostics: check.diagnostics)
        }
        guard check.testFailures.isEmpty else {
            throw Rejected(
                message: "the policy set fails its own tests; nothing was stored: " + check.testFailures.joined(separator: "; "),
                diagnostics: check.diagnostics)
        }
        return try changes.withLock {
            let revision = try database.createRevision(files: files, author: author, reason: reason, activate: activate)
            if activate { engine.install(index: index, revision: revision.id) }
            logger.info(
                "policy revision stored", metadata: ["revision": "\(revision.id)", "author": "\(author)", "active": "\(activate)"])
            return (revision, check)
        }
    }

    /// Makes a stored revision active again (a rollback, or a staged rollout).
    public func activate(_ id: Int64) throws {
        try changes.withLock {
            guard let revision = try database.revision(id) else { throw StoreError.notFound("revision \(id) does not exist") }
            // A stored revision was checked when it was stored: no budget.
            let check = try check(revision.files, stored: true)
            guard let index = check.index else {
                throw Rejected(message: "revision \(id) no longer compiles", diagnostics: check.diagnostics)
            }
            try database.setActiveRevision(id)
            engine.install(index: index, revision: id)
            logger.info("policy revision activated", metadata: ["revision": "\(id)"])
        }
    }

    /// At start-up: installs the active revision, or stores `seed` as
    /// revision 1 when the database holds none.
    /// `seed`: the files to store as revision 1 when the database has no
    /// active revision; read only then, so that a policy directory that has
    /// gone since does not stop a service that no longer needs it.
    func loadActive(seed readSeed: () throws -> [Revision.File]?, seedOrigin: String) throws {
        if let id = try database.activeRevisionID() {
            try activate(id)
            return
        }
        guard let seed = try readSeed() else {
            logger.warning("no policy revision yet: every request is denied until one is applied")
            return
        }
        do {
            let (revision, _) = try create(seed, author: "egress-pdp", reason: "initial policy from \(seedOrigin)", activate: true)
            logger.info("stored the initial policy", metadata: ["revision": "\(revision.id)", "from": "\(seedOrigin)"])
        } catch let rejected as Rejected {
            for d in rejected.diagnostics where d.severity == "error" {
                logger.error("\(d.file):\(d.line):\(d.column): \(d.message) [\(d.id)]")
            }
            throw rejected
        }
    }
}
