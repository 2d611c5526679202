extension Statement {
    /// What the statement says, without spans: the formatter compares the
    /// meanings of its input and output and refuses to write when they differ.
    public var meaning: Meaning {
        switch self {
        case .hosts(let decl):
            return .hosts(name: decl.name, items: decl.items.map(\.meaning))
        case .rule(let rule):
            return .rule(
                effect: rule.effect, selector: rule.selector, hosts: rule.hosts.map(\.meaning), name: rule.name,
                dryRun: rule.dryRun)
        case .expectation(let e):
            return .expectation(verdict: e.verdict, source: e.source, host: e.host, port: e.port)
        }
    }

    public enum Meaning: Hashable, Sendable {
        case hosts(name: String, items: [HostItem.Meaning])
        case rule(effect: Effect, selector: Selector, hosts: [HostItem.Meaning], name: String?, dryRun: Bool)
        case expectation(verdict: Verdict, source: SourceIdentity?, host: String, port: Int)
    }
}

extension HostItem {
    public enum Meaning: Hashable, Sendable {
        case pattern(HostPattern, PortRange?)
        case reference(String)
    }

    public var meaning: Meaning {
        switch self {
        case .pattern(let pattern, let ports, _): return .pattern(pattern, ports)
        case .reference(let name, _): return .reference(name)
        }
    }
}
