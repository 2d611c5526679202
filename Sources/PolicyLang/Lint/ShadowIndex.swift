/// The rules that might shadow another, for `ShadowedRule`, found without
/// looking at every rule that shares a host pattern.
///
/// Three levels narrow the search:
/// 1. the host pattern written in the rule;
/// 2. a key taken from one term of the covering rule's selector. A selector
///    covers another only if each of its terms is implied by one of the
///    other's, and a term is implied only by a term about the same thing
///    (the same namespace, the same label key, ...), so the narrow rule's
///    own terms name every key worth looking under;
/// 3. groups of rules with one meaning there (selector, effect, dry-run),
///    in the order of their earliest rule, so that the search stops at the
///    first group that cannot beat what was found. A group keeps, per port
///    range, its earliest rule and the earliest that differs from it, which
///    stands in when the rule being checked is a copy of the first (a copy
///    is `duplicate-rule`'s to report).
///
/// What is left quadratic: many rules that differ only in `key!=value`
/// terms, checked against rules with a positive term on that key. The
/// linter's time budget bounds that.
struct ShadowIndex {
    /// What a selector term is about: the key rules are filed under.
    enum Key: Hashable {
        case everyone
        case namespace(String)
        case serviceAccount(String)
        case spiffe(String)
        case podName(String)
        case podGlob
        case labelValue(key: String, value: String)
        case labelNot(key: String, value: String)
        case label(String)
    }

    private struct Meaning: Hashable {
        let selector: Selector
        let effect: Effect
        let dryRun: Bool
    }

    private struct Candidate {
        let rule: Int
        let host: ResolvedHost
    }

    /// The earliest rule of a group on one port range, and the earliest
    /// that means something else.
    private struct Entry {
        var first: Candidate
        var other: Candidate?
    }

    /// The rules of one meaning at one pattern and key, by port range.
    private struct Group {
        let meaning: Meaning
        let earliest: Int
        var byPorts: [PortRange?: Entry] = [:]
        /// Ranges of more than one port: the only ones that can cover a
        /// range other than themselves (every port, `nil`, aside).
        var wideRanges: [PortRange] = []
    }

    private struct GroupID: Hashable {
        let pattern: HostPattern
        let key: Key
        let meaning: Meaning
    }

    private var groups: [Group] = []
    private var groupIDs: [GroupID: Int] = [:]
    /// Groups by pattern and key, in the order of their earliest rule.
    private var buckets: [HostPattern: [Key: [Int]]] = [:]
    /// The values of `key!=value` terms that rules are filed under, by key.
    private var negatedValues: [String: Set<String>] = [:]
    private let rules: [ResolvedRule]
    private let fingerprints: [RuleFingerprint]

    init(_ rules: [ResolvedRule], fingerprints: [RuleFingerprint]) {
        self.rules = rules
        self.fingerprints = fingerprints
        // Rules come in policy order, so each bucket's groups are in the
        // order of their earliest rule.
        for rule in rules {
            let key = Self.filingKey(rule.rule.selector)
            if case .labelNot(let label, let value) = key { negatedValues[label, default: []].insert(value) }
            let meaning = Meaning(selector: rule.rule.selector, effect: rule.rule.effect, dryRun: rule.rule.dryRun)
            for host in rule.hosts {
                file(Candidate(rule: rule.index, host: host), in: GroupID(pattern: host.pattern, key: key, meaning: meaning))
            }
        }
    }

    private mutating func file(_ candidate: Candidate, in id: GroupID) {
        let position: Int
        if let known = groupIDs[id] {
            position = known
        } else {
            position = groups.count
            groupIDs[id] = position
            groups.append(Group(meaning: id.meaning, earliest: candidate.rule))
            buckets[id.pattern, default: [:]][id.key, default: []].append(position)
        }
        let ports = candidate.host.ports
        if let entry = groups[position].byPorts[ports] {
            if entry.other == nil, candidate.rule != entry.first.rule, fingerprints[candidate.rule] != fingerprints[entry.first.rule] {
                groups[position].byPorts[ports]?.other = candidate
            }
        } else {
            groups[position].byPorts[ports] = Entry(first: candidate)
            if let ports, ports.high > ports.low { groups[position].wideRanges.append(ports) }
        }
    }

    /// The earliest rule filed at `pattern` that decides before `rule`
    /// wherever `host` of it matches, if any. `keys`: `lookupKeys` of the
    /// rule's selector, worked out once per rule by the caller.
    func firstShadower(of rule: ResolvedRule, keys: Set<Key>, host: ResolvedHost, at pattern: HostPattern) -> Int? {
        guard let byKey = buckets[pattern] else { return nil }
        var best: Int?
        /// The group's earliest rule on `ports` that counts: a later one of
        /// the group decides no sooner.
        func consider(_ group: Group, _ ports: PortRange?) {
            guard let entry = group.byPorts[ports] else { return }
            let sameAsFirst = entry.first.rule == rule.index || fingerprints[entry.first.rule] == fingerprints[rule.index]
            guard let candidate = sameAsFirst ? entry.other : entry.first else { return }
            if host.isCovered(by: candidate.host), ShadowedRule.decidesBefore(rules[candidate.rule], rule) {
                best = min(best ?? candidate.rule, candidate.rule)
            }
        }
        for key in keys {
            for position in byKey[key] ?? [] {
                let group = groups[position]
                // Groups come by their earliest rule: none later can do better.
                if let best, group.earliest >= best { break }
                guard SelectorSubsumption.isCovered(rule.rule.selector, by: group.meaning.selector) else { continue }
                consider(group, nil)
                if host.ports != nil { consider(group, host.ports) }
                for ports in group.wideRanges where ports != host.ports { consider(group, ports) }
            }
        }
        return best
    }

    /// The one key a rule is filed under: its most specific term's.
    static func filingKey(_ selector: Selector) -> Key {
        guard case .all(let terms) = selector, !terms.isEmpty else { return .everyone }
        return terms.map(key(of:)).min { specificity($0) < specificity($1) } ?? .everyone
    }

    /// Every key a rule that covers `selector` may be filed under.
    func lookupKeys(_ selector: Selector) -> Set<Key> {
        var keys: Set<Key> = [.everyone]
        guard case .all(let terms) = selector else { return keys }
        func positive(_ label: String) {
            keys.insert(.label(label))
            for value in negatedValues[label] ?? [] { keys.insert(.labelNot(key: label, value: value)) }
        }
        for term in terms {
            switch term {
            case .namespace(let name): keys.insert(.namespace(name))
            case .serviceAccount(let name): keys.insert(.serviceAccount(name))
            case .spiffe(let id): keys.insert(.spiffe(id))
            case .pod(let name):
                keys.insert(.podName(name))
                keys.insert(.podGlob)
            case .labelEquals(let key, let value):
                positive(key)
                keys.insert(.labelValue(key: key, value: value))
            case .labelIn(let key, let values):
                positive(key)
                for value in values { keys.insert(.labelValue(key: key, value: value)) }
            case .labelAbsent(let key), .labelExists(let key):
                positive(key)
            case .labelNotEquals(let key, let value):
                keys.insert(.label(key))
                keys.insert(.labelNot(key: key, value: value))
            case .labelNotIn(let key, let values):
                keys.insert(.label(key))
                for value in values { keys.insert(.labelNot(key: key, value: value)) }
            }
        }
        return keys
    }

    private static func key(of term: SelectorTerm) -> Key {
        switch term {
        case .namespace(let name): return .namespace(name)
        case .serviceAccount(let name): return .serviceAccount(name)
        case .spiffe(let id): return .spiffe(id)
        case .pod(let glob): return glob.contains("*") ? .podGlob : .podName(glob)
        case .labelEquals(let key, let value): return .labelValue(key: key, value: value)
        case .labelNotEquals(let key, let value): return .labelNot(key: key, value: value)
        case .labelIn(let key, _), .labelNotIn(let key, _), .labelExists(let key), .labelAbsent(let key):
            return .label(key)
        }
    }

    /// Lower is narrower: fewer rules share the key.
    private static func specificity(_ key: Key) -> Int {
        switch key {
        case .spiffe, .podName, .labelValue: return 0
        case .serviceAccount: return 1
        case .namespace, .labelNot: return 2
        case .label, .podGlob: return 3
        case .everyone: return 4
        }
    }
}
