/// `shadowed-rule`: a rule that can never decide anything, because for every
/// request it matches another rule decides first.
///
/// Who decides first follows the verdict rules: any enforced deny before any
/// allow, and among rules of one effect the earliest in policy order. A
/// dry-run rule is judged in the dry-run evaluation, where every rule counts.
/// A rule is reported when each of its hosts is covered by a host of some
/// earlier-deciding rule whose selector covers its selector. That is exact
/// in one direction: a rule that can decide something is never reported.
///
/// The rules that could shadow are found through `ShadowIndex` (by host
/// pattern, then by a term of their selector, then by what they mean), so
/// that thousands of rules on one host cost about as much as thousands on
/// different hosts: the check was quadratic in the rules sharing a pattern.
public struct ShadowedRule: LintRule {
    public let id = DiagnosticID.shadowedRule

    public init() {}

    public func check(_ context: LintContext) -> [Diagnostic] {
        guard context.isComplete else { return [] }
        let rules = context.set.rules
        let fingerprints = rules.map(RuleFingerprint.init)
        let index = ShadowIndex(rules, fingerprints: fingerprints)
        var diagnostics: [Diagnostic] = []
        for rule in rules where !rule.hosts.isEmpty {
            if context.budget.isExhausted { break }
            var shadowers: [Int] = []
            let keys = index.lookupKeys(rule.rule.selector)
            let covered = rule.hosts.allSatisfy { host in
                for pattern in Self.coveringPatterns(of: host.pattern) {
                    guard let shadower = index.firstShadower(of: rule, keys: keys, host: host, at: pattern) else { continue }
                    if !shadowers.contains(shadower) { shadowers.append(shadower) }
                    return true
                }
                return false
            }
            guard covered else { continue }
            let by = shadowers.map { rules[$0].location + (rules[$0].rule.name.map { " (\($0))" } ?? "") }
            diagnostics.append(
                Diagnostic(
                    id, in: rule.file, at: rule.rule.span,
                    "this \(rule.rule.dryRun ? "dry-run " : "")\(rule.rule.effect.rawValue) rule never decides anything: every request it matches is decided by \(by.joined(separator: ", "))",
                    help: "remove it, or narrow the rule that covers it"))
        }
        return diagnostics
    }

    /// Whether `other` decides before `rule` wherever both match.
    static func decidesBefore(_ other: ResolvedRule, _ rule: ResolvedRule) -> Bool {
        if rule.isEnforced {
            guard other.isEnforced else { return false }
        }
        switch (other.rule.effect, rule.rule.effect) {
        case (.deny, .allow): return true
        case (.allow, .deny): return false
        default: return other.index < rule.index
        }
    }

    /// Every pattern that could cover `pattern`: itself, `*`, and the wildcards of its ancestors.
    static func coveringPatterns(of pattern: HostPattern) -> [HostPattern] {
        var result: [HostPattern] = [pattern, .any]
        let name: String
        switch pattern {
        case .any: return [.any]
        case .exact(let n):
            name = n
        case .wildcard(let n):
            name = n
        }
        var rest = Substring(name)
        if case .exact = pattern, let dot = rest.firstIndex(of: ".") {
            rest = rest[rest.index(after: dot)...]
        } else if case .exact = pattern {
            return result
        }
        while true {
            result.append(.wildcard(suffix: String(rest)))
            guard let dot = rest.firstIndex(of: ".") else { break }
            rest = rest[rest.index(after: dot)...]
        }
        return result
    }
}
