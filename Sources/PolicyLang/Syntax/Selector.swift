/// The "who" of a rule: `*`, or terms that must all hold.
public enum Selector: Sendable, Hashable, CustomStringConvertible {
    /// Every source, including sources with no known identity.
    case any
    /// A workload with a known identity for which every term holds.
    case all([SelectorTerm])

    public var description: String {
        switch self {
        case .any: return "*"
        case .all(let terms): return terms.map(\.description).joined(separator: ", ")
        }
    }
}

/// One condition on a workload's identity.
public enum SelectorTerm: Sendable, Hashable, CustomStringConvertible {
    case namespace(String)
    case serviceAccount(String)
    /// A pod name; `*` inside it is a glob.
    case pod(String)
    case spiffe(String)
    /// `key=value` / `key==value`: the label is present with this value.
    case labelEquals(key: String, value: String)
    /// `key!=value`: the label is absent or has another value.
    case labelNotEquals(key: String, value: String)
    /// `key in (...)`: the label is present with one of these values.
    case labelIn(key: String, values: [String])
    /// `key notin (...)`: the label is absent or has none of these values.
    case labelNotIn(key: String, values: [String])
    /// `key`: the label is present.
    case labelExists(String)
    /// `!key`: the label is absent.
    case labelAbsent(String)

    public var description: String {
        switch self {
        case .namespace(let name): return "ns:" + name
        case .serviceAccount(let name): return "sa:" + name
        case .pod(let name): return "pod:" + name
        case .spiffe(let id): return "spiffe:" + id
        case .labelEquals(let key, let value): return key + "=" + value
        case .labelNotEquals(let key, let value): return key + "!=" + value
        case .labelIn(let key, let values): return key + " in (" + values.joined(separator: ", ") + ")"
        case .labelNotIn(let key, let values): return key + " notin (" + values.joined(separator: ", ") + ")"
        case .labelExists(let key): return key
        case .labelAbsent(let key): return "!" + key
        }
    }
}
