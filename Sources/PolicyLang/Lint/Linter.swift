/// Runs every lint rule over a policy set and returns its load errors and
/// warnings together, ordered by file and position.
public struct Linter: Sendable {
    public static let allRules: [any LintRule] = [
        ShadowedRule(), DuplicateRule(), BroadHost(), AllowAll(), UnusedHosts(),
    ]

    public let rules: [any LintRule]
    public let publicSuffixes: PublicSuffixList

    public init(publicSuffixes: PublicSuffixList, rules: [any LintRule] = Linter.allRules) {
        self.publicSuffixes = publicSuffixes
        self.rules = rules
    }

    public func lint(_ set: PolicySet) -> [Diagnostic] {
        // An unlimited budget is never exhausted.
        (try? lint(set, within: .unlimited)) ?? []
    }

    /// Lints within `budget`; throws when it runs out before every rule ran.
    public func lint(_ set: PolicySet, within budget: LintBudget) throws(LintBudget.Exhausted) -> [Diagnostic] {
        let context = LintContext(set: set, publicSuffixes: publicSuffixes, budget: budget)
        var all = set.diagnostics
        for rule in rules {
            try budget.check()
            all += rule.check(context)
        }
        try budget.check()
        return all.sorted {
            ($0.file.path, $0.span.lowerBound, $0.id.rawValue) < ($1.file.path, $1.span.lowerBound, $1.id.rawValue)
        }
    }
}
