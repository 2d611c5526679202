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
        if case .all(let terms) = rule.rule.selector { selector = Set(terms) } else { selector = nil }
        hosts = Set(rule.hosts.map { HostKey(pattern: $0.pattern, ports: $0.ports) })
    }
}
