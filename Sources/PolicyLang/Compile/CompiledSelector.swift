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

        var cost: Int {
            switch self {
            case .namespace: return 0
            case .serviceAccount: return 1
            case .spiffe, .podExact: return 2
            case .labelEquals, .labelExists, .labelAbsent, .labelNotEquals: return 3
            case .labelIn, .labelNotIn: return 4
            case .podGlob: return 5
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
        checks = terms.map { term -> Check in
            switch term {
            case .namespace(let n): return .namespace(n)
            case .serviceAccount(let n): return .serviceAccount(n)
            case .pod(let n): return n.contains("*") ? .podGlob(n) : .podExact(n)
            case .spiffe(let id): return .spiffe(id)
            case .labelEquals(let k, let v): return .labelEquals(k, v)
            case .labelNotEquals(let k, let v): return .labelNotEquals(k, v)
            case .labelIn(let k, let vs): return .labelIn(k, Set(vs))
            case .labelNotIn(let k, let vs): return .labelNotIn(k, Set(vs))
            case .labelExists(let k): return .labelExists(k)
            case .labelAbsent(let k): return .labelAbsent(k)
            }
        }.sorted { $0.cost < $1.cost }
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
            case .labelEquals(let k, let v): if source.labels[k] != v { return false }
            case .labelNotEquals(let k, let v): if source.labels[k] == v { return false }
            case .labelIn(let k, let vs): if !(source.labels[k].map(vs.contains) ?? false) { return false }
            case .labelNotIn(let k, let vs): if source.labels[k].map(vs.contains) ?? false { return false }
            case .labelExists(let k): if source.labels[k] == nil { return false }
            case .labelAbsent(let k): if source.labels[k] != nil { return false }
            }
        }
        return true
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
