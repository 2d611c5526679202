/// `duplicate-rule`: the same rule (effect, selector, hosts and dry-run; the
/// name aside) written twice. Reported on the later copy.
public struct DuplicateRule: LintRule {
    public let id = DiagnosticID.duplicateRule

    public init() {}

    public func check(_ context: LintContext) -> [Diagnostic] {
        guard context.isComplete else { return [] }
        var first: [RuleFingerprint: ResolvedRule] = [:]
        var diagnostics: [Diagnostic] = []
        for rule in context.set.rules {
            let fingerprint = RuleFingerprint(rule)
            if let original = first[fingerprint] {
                diagnostics.append(
                    Diagnostic(
                        id, in: rule.file, at: rule.rule.span, "this rule repeats the rule at \(original.location)",
                        help: "remove one of them"))
            } else {
                first[fingerprint] = rule
            }
        }
        return diagnostics
    }
}
