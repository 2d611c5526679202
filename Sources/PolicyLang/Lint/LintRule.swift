/// One warning the linter can give. Each rule lives in its own file under
/// `Lint/Rules`, named by what it finds, with its own tests.
public protocol LintRule: Sendable {
    /// The stable id that output and suppressions use.
    var id: DiagnosticID { get }
    /// The warnings this rule finds in a policy set.
    func check(_ context: LintContext) -> [Diagnostic]
}

/// What a lint rule may look at.
public struct LintContext: Sendable {
    public let set: PolicySet
    public let publicSuffixes: PublicSuffixList
    /// Rules that may take long poll it and stop early when it is spent;
    /// the linter then throws rather than return a partial result.
    public var budget = LintBudget.unlimited

    public init(set: PolicySet, publicSuffixes: PublicSuffixList, budget: LintBudget = .unlimited) {
        self.set = set
        self.publicSuffixes = publicSuffixes
        self.budget = budget
    }

    /// Rules whose meaning is fully known: with errors present a rule may
    /// have lost an invalid part, so the rules that reason about meaning
    /// (`shadowed-rule`, `duplicate-rule`) only run when the policy files have no errors.
    public var isComplete: Bool { self.set.policyErrors.isEmpty }
}
