/// A selector prepared for matching: terms ordered so that the cheapest and
/// most selective checks (namespace, service account) run first.
struct CompiledSelector: Sendable {
    enum Check: Sendable {
        case namespace(String)
        case serviceAccount(String)
        case podExact(String)
        case podGlob(String)
        case spiffe(String)
        case labelEquals(String, String)
        case labelNotEquals(String, String)
        case labelIn(String, Set<String>)
        case labelNotIn(String, Set<String>)
        case labelExists(String)
        case labelAbsent(String)
        /// A label check on the namespace's labels instead of the pod's.
        indirect case namespaceLabel(Check)

        var cost: Int {
            switch self {
            case .namespace: return 0
            case .serviceAccount: return 1
            case .spiffe, .podExact: return 2
            case .labelEquals, .labelExists, .labelAbsent, .labelNotEquals: return 3
            case .labelIn, .labelNotIn: return 4
            case .podGlob: return 5
            case .namespaceLabel(let check): return check.cost
            }
        }
    }

    /// `nil` for `*`.
    let checks: [Check]?

    init(_ selector: Selector) {
        guard case .all(let terms) = selector else {
            checks = nil
            return
        }
        checks = terms.map(Self.check).sorted { $0.cost < $1.cost }
    }

    private static func check(_ term: SelectorTerm) -> Check {
        switch term {
        case .namespace(let n): return .namespace(n)
        case .serviceAccount(let n): return .serviceAccount(n)
        case .pod(let n): return n.contains("*") ? .podGlob(n) : .podExact(n)
        case .spiffe(let id): return .spiffe(id)
        case .labelEquals(let k, let v): return label(k) { .labelEquals($0, v) }
        case .labelNotEquals(let k, let v): return label(k) { .labelNotEquals($0, v) }
        case .labelIn(let k, let vs): return label(k) { .labelIn($0, Set(vs)) }
        case .labelNotIn(let k, let vs): return label(k) { .labelNotIn($0, Set(vs)) }
        case .labelExists(let k): return label(k) { .labelExists($0) }
        case .labelAbsent(let k): return label(k) { .labelAbsent($0) }
        }
    }

    /// A check on the pod's labels, or on its namespace's for an `nslabel:` key.
    private static func label(_ key: String, _ make: (String) -> Check) -> Check {
        guard let namespaceKey = SelectorTerm.namespaceLabel(key) else { return make(key) }
        return .namespaceLabel(make(namespaceKey))
    }

    @inline(__always)
    func matches(_ source: SourceIdentity?) -> Bool {
        guard let checks else { return true }
        guard let source else { return false }
        for check in checks {
            switch check {
            case .namespace(let n): if source.namespace != n { return false }
            case .serviceAccount(let n): if source.serviceAccount != n { return false }
            case .podExact(let n): if source.pod != n { return false }
            case .podGlob(let g): if !(source.pod.map { Glob.matches(g, $0) } ?? false) { return false }
            case .spiffe(let id): if source.spiffe != id { return false }
            case .namespaceLabel(let label): if !Self.holds(label, source.namespaceLabels) { return false }
            default: if !Self.holds(check, source.labels) { return false }
            }
        }
        return true
    }

    /// Whether a label check holds for `labels`.
    @inline(__always)
    private static func holds(_ check: Check, _ labels: [String: String]) -> Bool {
        switch check {
        case .labelEquals(let k, let v): return labels[k] == v
        case .labelNotEquals(let k, let v): return labels[k] != v
        case .labelIn(let k, let vs): return labels[k].map(vs.contains) ?? false
        case .labelNotIn(let k, let vs): return !(labels[k].map(vs.contains) ?? false)
        case .labelExists(let k): return labels[k] != nil
        case .labelAbsent(let k): return labels[k] == nil
        case .namespace, .serviceAccount, .podExact, .podGlob, .spiffe, .namespaceLabel: return false
        }
    }
}

/// `*`-only globs over UTF-8 bytes, without allocating.
enum Glob {
    static func matches(_ pattern: String, _ text: String) -> Bool {
        let p = pattern.utf8, t = text.utf8
        var pi = p.startIndex, ti = t.startIndex
        var starP: String.UTF8View.Index?
        var starT = t.startIndex
        let star = UInt8(ascii: "*")
        while ti != t.endIndex {
            if pi != p.endIndex, p[pi] == star {
                starP = pi
                pi = p.index(after: pi)
                starT = ti
            } else if pi != p.endIndex, p[pi] == t[ti] {
                pi = p.index(after: pi)
                ti = t.index(after: ti)
            } else if let sp = starP {
                pi = p.index(after: sp)
                starT = t.index(after: starT)
                ti = starT
            } else {
                return false
            }
        }
        while pi != p.endIndex, p[pi] == star { pi = p.index(after: pi) }
        return pi == p.endIndex
    }
}
