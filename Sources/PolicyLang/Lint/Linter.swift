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
        let context = LintContext(set: set, publicSuffixes: publicSuffixes)
        let all = set.diagnostics + rules.flatMap { $0.check(context) }
        return all.sorted {
            ($0.file.path, $0.span.lowerBound, $0.id.rawValue) < ($1.file.path, $1.span.lowerBound, $1.id.rawValue)
        }
    }
}
