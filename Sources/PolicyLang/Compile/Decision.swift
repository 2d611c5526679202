/// The answer to "may this source reach this host and port?".
public struct Decision: Sendable, Hashable {
    /// The enforced verdict.
    public let verdict: Verdict
    /// The rule that decided `verdict`; `nil` when no rule matched (default deny).
    public let rule: RuleReference?
    /// The verdict had the dry-run rules been enforced too.
    public let dryRunVerdict: Verdict
    /// The rule that decided `dryRunVerdict`; `nil` when no rule matched.
    public let dryRunRule: RuleReference?
}

/// Names a rule in decisions and audit records.
public struct RuleReference: Sendable, Hashable, CustomStringConvertible {
    /// Position in policy order, within the index that made the decision.
    public let index: Int
    public let file: String
    public let line: Int
    /// The rule's `as NAME`, if any.
    public let name: String?
    public let effect: Effect
    public let dryRun: Bool

    /// `file:line`.
    public var location: String { "\(file):\(line)" }

    public var description: String { name.map { "\(location) (\($0))" } ?? location }
}
