/// `shadowed-rule`: a rule that can never decide anything, because for every
/// request it matches another rule decides first.
///
/// Who decides first follows the verdict rules: any enforced deny before any
/// allow, and among rules of one effect the earliest in policy order. A
/// dry-run rule is judged in the dry-run evaluation, where every rule counts.
/// A rule is reported when each of its hosts is covered by a host of some
/// earlier-deciding rule whose selector covers its selector. That is exact
/// in one direction: a rule that can decide something is never reported.
public struct ShadowedRule: LintRule {
    public let id = DiagnosticID.shadowedRule

    public init() {}

    public func check(_ context: LintContext) -> [Diagnostic] {
        guard context.isComplete else { return [] }
        let rules = context.set.rules
        var byPattern: [HostPattern: [(rule: Int, host: ResolvedHost)]] = [:]
        for rule in rules {
            for host in rule.hosts { byPattern[host.pattern, default: []].append((rule.index, host)) }
        }
        var diagnostics: [Diagnostic] = []
        for rule in rules where !rule.hosts.isEmpty {
            let fingerprint = RuleFingerprint(rule)
            var shadowers: [Int] = []
            let covered = rule.hosts.allSatisfy { host in
                for pattern in Self.coveringPatterns(of: host.pattern) {
                    for candidate in byPattern[pattern] ?? [] where candidate.rule != rule.index {
                        let other = rules[candidate.rule]
                        if host.isCovered(by: candidate.host), Self.decidesBefore(other, rule),
                            SelectorSubsumption.isCovered(rule.rule.selector, by: other.rule.selector),
                            RuleFingerprint(other) != fingerprint
                        {
                            if !shadowers.contains(other.index) { shadowers.append(other.index) }
                            return true
                        }
                    }
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
