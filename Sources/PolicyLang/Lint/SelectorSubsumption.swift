/// Decides whether every source one selector matches is also matched by
/// another. It is sound, not complete: `true` is always right; `false` may
/// miss a cover that needs several terms to reason about together.
enum SelectorSubsumption {
    /// Whether `narrow` matches only sources that `broad` matches too.
    static func isCovered(_ narrow: Selector, by broad: Selector) -> Bool {
        guard case .all(let broadTerms) = broad else { return true }
        guard case .all(let narrowTerms) = narrow else { return false }
        return broadTerms.allSatisfy { term in narrowTerms.contains { implies($0, term) } }
    }

    /// Whether a workload for which `u` holds always satisfies `t`.
    static func implies(_ u: SelectorTerm, _ t: SelectorTerm) -> Bool {
        switch (u, t) {
        case (.namespace(let a), .namespace(let b)), (.serviceAccount(let a), .serviceAccount(let b)),
            (.spiffe(let a), .spiffe(let b)):
            return a == b
        case (.pod(let name), .pod(let glob)):
            return name == glob || (!name.contains("*") && Glob.matches(glob, name))
        case (.labelEquals(let k, _), .labelExists(let key)), (.labelExists(let k), .labelExists(let key)):
            return k == key
        case (.labelIn(let k, let values), .labelExists(let key)):
            return k == key && !values.isEmpty
        case (.labelAbsent(let k), .labelAbsent(let key)):
            return k == key
        case (.labelEquals(let k, let v), .labelEquals(let key, let value)):
            return k == key && v == value
        case (.labelIn(let k, let values), .labelEquals(let key, let value)):
            return k == key && Set(values) == [value]
        case (.labelEquals(let k, let v), .labelIn(let key, let values)):
            return k == key && values.contains(v)
        case (.labelIn(let k, let inner), .labelIn(let key, let outer)):
            return k == key && Set(inner).isSubset(of: outer)
        case (.labelAbsent(let k), .labelNotEquals(let key, _)), (.labelAbsent(let k), .labelNotIn(let key, _)):
            return k == key
        case (.labelEquals(let k, let v), .labelNotEquals(let key, let value)):
            return k == key && v != value
        case (.labelIn(let k, let values), .labelNotEquals(let key, let value)):
            return k == key && !values.contains(value)
        case (.labelNotEquals(let k, let v), .labelNotEquals(let key, let value)):
            return k == key && v == value
        case (.labelNotIn(let k, let values), .labelNotEquals(let key, let value)):
            return k == key && values.contains(value)
        case (.labelEquals(let k, let v), .labelNotIn(let key, let values)):
            return k == key && !values.contains(v)
        case (.labelIn(let k, let inner), .labelNotIn(let key, let outer)):
            return k == key && Set(inner).isDisjoint(with: outer)
        case (.labelNotIn(let k, let inner), .labelNotIn(let key, let outer)):
            return k == key && Set(outer).isSubset(of: inner)
        case (.labelNotEquals(let k, let v), .labelNotIn(let key, let values)):
            return k == key && Set(values) == [v]
        default:
            return false
        }
    }
}
