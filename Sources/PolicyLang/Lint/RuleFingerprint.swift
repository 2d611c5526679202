/// What a rule means, without where it is written or what it is called: two
/// rules with equal fingerprints decide exactly the same requests the same way.
struct RuleFingerprint: Hashable {
    let effect: Effect
    let dryRun: Bool
    let selector: Set<SelectorTerm>?
    let hosts: Set<HostKey>

    struct HostKey: Hashable {
        let pattern: HostPattern
        let ports: PortRange?
    }

    init(_ rule: ResolvedRule) {
        effect = rule.rule.effect
        dryRun = rule.rule.dryRun
        if case .all(let terms) = rule.rule.selector { selector = Set(terms.map(Self.normalized)) } else { selector = nil }
        hosts = Set(rule.hosts.map { HostKey(pattern: $0.pattern, ports: $0.ports) })
    }

    /// The order and repetition of `in`/`notin` values do not matter; `==` is `=`.
    static func normalized(_ term: SelectorTerm) -> SelectorTerm {
        switch term {
        case .labelIn(let key, let values): return .labelIn(key: key, values: Set(values).sorted())
        case .labelNotIn(let key, let values): return .labelNotIn(key: key, values: Set(values).sorted())
        default: return term
        }
    }
}
