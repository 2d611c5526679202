/// One parsed statement of a policy file, with the byte spans that diagnostics
/// and the formatter need. Spans are not part of a statement's meaning: use
/// `canonical` to compare meanings.
public enum Statement: Sendable, Hashable {
    case hosts(HostListDeclaration)
    case rule(Rule)
    case expectation(Expectation)

    public var span: Range<Int> {
        switch self {
        case .hosts(let decl): return decl.span
        case .rule(let rule): return rule.span
        case .expectation(let expectation): return expectation.span
        }
    }
}

public enum Effect: String, Sendable, Hashable {
    case allow
    case deny
}

/// `hosts NAME = HOSTS`
public struct HostListDeclaration: Sendable, Hashable {
    public let name: String
    public let nameSpan: Range<Int>
    public let items: [HostItem]
    public let span: Range<Int>
}

/// One entry of a host list: a pattern with optional ports, or `$NAME`.
public enum HostItem: Sendable, Hashable, CustomStringConvertible {
    case pattern(HostPattern, ports: PortRange?, span: Range<Int>)
    case reference(String, span: Range<Int>)

    public var span: Range<Int> {
        switch self {
        case .pattern(_, _, let span), .reference(_, let span): return span
        }
    }

    public var description: String {
        switch self {
        case .pattern(let pattern, let ports, _):
            return ports.map { "\(pattern):\($0)" } ?? pattern.description
        case .reference(let name, _):
            return "$" + name
        }
    }
}

/// `allow|deny SELECTOR -> HOSTS [as NAME] [dry-run]`
public struct Rule: Sendable, Hashable {
    public let effect: Effect
    public let selector: Selector
    public let selectorSpan: Range<Int>
    public let hosts: [HostItem]
    public let name: String?
    public let dryRun: Bool
    public let span: Range<Int>
}

/// `expect allow|deny WORKLOAD -> HOST[:PORT]` in a `*_test.egress` file.
public struct Expectation: Sendable, Hashable {
    public let verdict: Verdict
    public let source: SourceIdentity?
    public let host: String
    public let port: Int
    public let span: Range<Int>
}
