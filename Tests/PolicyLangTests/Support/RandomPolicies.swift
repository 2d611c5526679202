import Testing
@testable import PolicyLang

// Random small policy sets and requests, and a naive reference evaluator
// written from the spec, for the property tests.

/// xorshift64*: a small deterministic generator, so a failure reproduces.
struct XorShift: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed == 0 ? 0x9E37_79B9_7F4A_7C15 : seed }

    mutating func next() -> UInt64 {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return state &* 0x2545_F491_4F6C_DD1D
    }

    mutating func int(_ upperBound: Int) -> Int { Int(next() % UInt64(upperBound)) }
    mutating func chance(_ percent: Int) -> Bool { int(100) < percent }
    mutating func pick<T>(_ items: [T]) -> T { items[int(items.count)] }
}

enum Vocabulary {
    static let exactNames = ["foo.com", "x.foo.com", "a.x.foo.com", "bar.com", "x.bar.com", "y.bar.com", "baz.org", "localhost"]
    static let wildcardSuffixes = ["foo.com", "x.foo.com", "bar.com", "com", "org"]
    static let ports: [PortRange?] = [nil, nil, nil, PortRange(low: 443, high: 443), PortRange(low: 80, high: 80),
                                      PortRange(low: 8000, high: 8443), PortRange(low: 1, high: 100)]
    static let requestHosts = exactNames + [
        "q.a.x.foo.com", "z.baz.org", "com", "X.Foo.COM", "x.foo.com.", "x.foo.com..", "", "198.18.0.1", "a..foo.com",
        "x_y.foo.com", "-x.foo.com", "x.bar.com ", "ü.foo.com",
    ]
    static let requestPorts = [443, 443, 80, 8000, 8443, 50, 9999]
    static let namespaces = ["shop", "dev"], accounts = ["web", "ci"], pods = ["web-1", "api-2", "web-canary"]
    static let spiffes = ["spiffe://td/ns/shop/sa/web", "spiffe://td/ns/dev/sa/ci"]
    static let values = ["a", "b", "c"]
}

/// A host item of a rule, as the reference evaluator sees it.
struct HostSpec {
    let pattern: HostPattern
    let ports: PortRange?

    /// Writes the pattern with random case and trailing dot, which must not matter.
    func text(_ random: inout XorShift) -> String {
        func spell(_ name: String) -> String {
            let cased = random.chance(20) ? name.uppercased() : name
            return random.chance(15) ? cased + "." : cased
        }
        let pattern: String
        switch self.pattern {
        case .any: pattern = "*"
        case .exact(let name): pattern = spell(name)
        case .wildcard(let suffix): pattern = "*." + spell(suffix)
        }
        return ports.map { "\(pattern):\($0.low == $0.high ? "\($0.low)" : "\($0.low)-\($0.high)")" } ?? pattern
    }

    static func random(_ random: inout XorShift) -> HostSpec {
        let pattern: HostPattern
        switch random.int(10) {
        case 0: pattern = .any
        case 1...4: pattern = .wildcard(suffix: random.pick(Vocabulary.wildcardSuffixes))
        default: pattern = .exact(random.pick(Vocabulary.exactNames))
        }
        return HostSpec(pattern: pattern, ports: random.pick(Vocabulary.ports))
    }
}

struct RuleSpec {
    let path: String
    let line: Int
    let effect: Effect
    let dryRun: Bool
    /// `nil` is `*`.
    let terms: [SelectorTerm]?
    let hosts: [HostSpec]
}

struct RandomRequest: CustomStringConvertible {
    let source: SourceIdentity?
    let host: String
    let port: Int

    init(source: SourceIdentity?, host: String, port: Int) {
        self.source = source
        self.host = host
        self.port = port
    }

    init(_ random: inout XorShift) {
        host = random.pick(Vocabulary.requestHosts)
        port = random.pick(Vocabulary.requestPorts)
        if random.chance(15) {
            source = nil
            return
        }
        var identity = SourceIdentity()
        if random.chance(80) { identity.namespace = random.pick(Vocabulary.namespaces) }
        if random.chance(50) { identity.serviceAccount = random.pick(Vocabulary.accounts) }
        if random.chance(50) { identity.pod = random.pick(Vocabulary.pods) }
        if random.chance(30) { identity.spiffe = random.pick(Vocabulary.spiffes) }
        for key in ["app", "tier"] where random.chance(60) { identity.labels[key] = random.pick(Vocabulary.values) }
        if identity.isEmpty { identity.namespace = "shop" }
        source = identity
    }

    var description: String {
        let who = source.map { "\($0.namespace ?? "-")/\($0.serviceAccount ?? "-")/\($0.pod ?? "-")/\($0.spiffe ?? "-")/\($0.labels)" }
        return "\(who ?? "unknown") -> \(host.debugDescription):\(port)"
    }
}

struct RandomPolicySet {
    var files: [(path: String, text: String)] = []
    var rules: [RuleSpec] = []

    init(_ random: inout XorShift) {
        let paths = ["a.egress", "b.egress", "10-apps.egress", "9-base.egress", "dir/z.egress"].shuffled(using: &random)
        var lists: [String: [HostSpec]] = [:]
        var pending: [(path: String, lines: [String], rules: [(Int, RuleSpecDraft)])] = []
        for path in paths.prefix(1 + random.int(3)) {
            var lines: [String] = []
            var drafts: [(Int, RuleSpecDraft)] = []
            for _ in 0..<(1 + random.int(6)) {
                if random.chance(10) { lines.append(random.chance(50) ? "# a comment" : "") }
                if random.chance(10) {
                    let name = "list\(lists.count)"
                    let hosts = (0..<(1 + random.int(2))).map { _ in HostSpec.random(&random) }
                    lists[name] = hosts
                    lines.append("hosts \(name) = " + hosts.map { $0.text(&random) }.joined(separator: ", "))
                    continue
                }
                let draft = RuleSpecDraft(&random, lists: lists)
                drafts.append((lines.count + 1, draft))
                lines += draft.lines(&random)
            }
            pending.append((path, lines, drafts))
        }
        for file in pending.sorted(by: { $0.path < $1.path }) {
            files.append((file.path, file.lines.joined(separator: "\n") + "\n"))
            for (line, draft) in file.rules {
                rules.append(
                    RuleSpec(
                        path: file.path, line: line, effect: draft.effect, dryRun: draft.dryRun, terms: draft.terms,
                        hosts: draft.hosts.flatMap { $0.expanded(lists) }))
            }
        }
    }

    /// The spec's verdict rules, scanning every rule in policy order.
    func decide(_ request: RandomRequest) -> (verdict: Verdict, rule: String?, dryRunVerdict: Verdict, dryRunRule: String?) {
        var deny: String?, allow: String?, anyDeny: String?, anyAllow: String?
        for rule in rules where Reference.matches(rule.terms, request.source) {
            guard rule.hosts.contains(where: { Reference.matches($0, request.host, request.port) }) else { continue }
            let location = "\(rule.path):\(rule.line)"
            switch (rule.effect, rule.dryRun) {
            case (.deny, false):
                deny = deny ?? location
                anyDeny = anyDeny ?? location
            case (.allow, false):
                allow = allow ?? location
                anyAllow = anyAllow ?? location
            case (.deny, true): anyDeny = anyDeny ?? location
            case (.allow, true): anyAllow = anyAllow ?? location
            }
        }
        return (
            deny != nil ? .deny : allow != nil ? .allow : .deny, deny ?? allow,
            anyDeny != nil ? .deny : anyAllow != nil ? .allow : .deny, anyDeny ?? anyAllow
        )
    }
}

/// A rule before the host lists it names are expanded.
struct RuleSpecDraft {
    enum Item {
        case host(HostSpec)
        case list(String)

        func expanded(_ lists: [String: [HostSpec]]) -> [HostSpec] {
            switch self {
            case .host(let host): return [host]
            case .list(let name): return lists[name] ?? []
            }
        }
    }

    let effect: Effect
    let dryRun: Bool
    let name: String?
    let terms: [SelectorTerm]?
    let hosts: [Item]

    init(_ random: inout XorShift, lists: [String: [HostSpec]]) {
        effect = random.chance(35) ? .deny : .allow
        dryRun = random.chance(20)
        name = random.chance(30) ? "r\(random.int(1000))" : nil
        if random.chance(25) {
            terms = nil
        } else {
            terms = (0..<(1 + random.int(3))).map { _ in Self.randomTerm(&random) }
        }
        hosts = (0..<(1 + random.int(3))).map { _ in
            if !lists.isEmpty, random.chance(20) { return .list(random.pick(lists.keys.sorted())) }
            return .host(HostSpec.random(&random))
        }
    }

    static func randomTerm(_ random: inout XorShift) -> SelectorTerm {
        let key = random.pick(["app", "tier"])
        let values = Array(Vocabulary.values.shuffled(using: &random).prefix(1 + random.int(2)))
        switch random.int(12) {
        case 0: return .namespace(random.pick(Vocabulary.namespaces))
        case 1: return .serviceAccount(random.pick(Vocabulary.accounts))
        case 2: return .pod(random.pick(["web-1", "web-*", "*-canary", "*"]))
        case 3: return .spiffe(random.pick(Vocabulary.spiffes))
        case 4, 5: return .labelEquals(key: key, value: values[0])
        case 6: return .labelNotEquals(key: key, value: values[0])
        case 7: return .labelIn(key: key, values: values)
        case 8: return .labelNotIn(key: key, values: values)
        case 9: return .labelExists(key)
        case 10: return .labelAbsent(key)
        default: return .namespace("shop")
        }
    }

    static func text(_ term: SelectorTerm, _ random: inout XorShift) -> String {
        switch term {
        case .namespace(let v): return "ns:" + v
        case .serviceAccount(let v): return "sa:" + v
        case .pod(let v): return "pod:" + v
        case .spiffe(let v): return "spiffe:" + v
        case .labelEquals(let k, let v): return k + (random.chance(30) ? "==" : "=") + v
        case .labelNotEquals(let k, let v): return k + "!=" + v
        case .labelIn(let k, let vs): return "\(k) in (\(vs.joined(separator: ", ")))"
        case .labelNotIn(let k, let vs): return "\(k) notin (\(vs.joined(separator: ",")))"
        case .labelExists(let k): return k
        case .labelAbsent(let k): return "!" + k
        }
    }

    /// The rule's text; sometimes continued over several lines after a comma.
    func lines(_ random: inout XorShift) -> [String] {
        let who = terms.map { $0.map { Self.text($0, &random) }.joined(separator: ", ") } ?? "*"
        let items = hosts.map { item -> String in
            switch item {
            case .host(let host): return host.text(&random)
            case .list(let name): return "$" + name
            }
        }
        var tail = ""
        if let name { tail += " as \(name)" }
        if dryRun { tail += " dry-run" }
        let head = "\(effect == .allow ? "allow" : "deny ") \(who) -> "
        if items.count > 1, random.chance(30) {
            return [head + items[0] + ",  # continued"] + items.dropFirst().dropLast().map { "    \($0)," }
                + ["    " + items.last! + tail]
        }
        return [head + items.joined(separator: ", ") + tail]
    }
}

/// The spec's matching rules, written out plainly.
enum Reference {
    static func matches(_ terms: [SelectorTerm]?, _ source: SourceIdentity?) -> Bool {
        guard let terms else { return true }
        guard let source else { return false }
        return terms.allSatisfy { term in
            switch term {
            case .namespace(let v): return source.namespace == v
            case .serviceAccount(let v): return source.serviceAccount == v
            case .pod(let glob): return source.pod.map { glob.globMatches(Array($0)) } ?? false
            case .spiffe(let v): return source.spiffe == v
            case .labelEquals(let k, let v): return source.labels[k] == v
            case .labelNotEquals(let k, let v): return source.labels[k] != v
            case .labelIn(let k, let vs): return source.labels[k].map(vs.contains) ?? false
            case .labelNotIn(let k, let vs): return !(source.labels[k].map(vs.contains) ?? false)
            case .labelExists(let k): return source.labels[k] != nil
            case .labelAbsent(let k): return source.labels[k] == nil
            }
        }
    }

    static func matches(_ host: HostSpec, _ requested: String, _ port: Int) -> Bool {
        if let ports = host.ports, !(ports.low...ports.high).contains(port) { return false }
        switch host.pattern {
        case .any: return true
        case .exact(let name): return dnsName(requested) == name
        case .wildcard(let suffix): return dnsName(requested)?.hasSuffix("." + suffix) ?? false
        }
    }

    /// The requested name, lower-cased without one trailing dot, or `nil` when
    /// it is not a DNS name (an IPv4 literal: a last label of digits only).
    static func dnsName(_ host: String) -> String? {
        var name = host.lowercased()
        if name.hasSuffix(".") { name.removeLast() }
        guard !name.isEmpty, name.utf8.count <= 253 else { return nil }
        let labels = name.split(separator: ".", omittingEmptySubsequences: false)
        for label in labels {
            guard (1...63).contains(label.utf8.count), !label.hasPrefix("-"), !label.hasSuffix("-"),
                label.utf8.allSatisfy({ ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 45 })
            else { return nil }
        }
        if labels.last!.allSatisfy(\.isNumber) { return nil }
        return name
    }
}

extension String {
    /// `*` matches any run of characters, by plain recursion.
    fileprivate func globMatches(_ text: [Character]) -> Bool {
        func match(_ p: ArraySlice<Character>, _ t: ArraySlice<Character>) -> Bool {
            guard let first = p.first else { return t.isEmpty }
            if first == "*" { return match(p.dropFirst(), t) || (!t.isEmpty && match(p, t.dropFirst())) }
            return t.first == first && match(p.dropFirst(), t.dropFirst())
        }
        return match(ArraySlice(self), ArraySlice(text))
    }
}
