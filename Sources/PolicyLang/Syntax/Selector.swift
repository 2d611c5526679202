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
///
/// A label term whose key starts with `nslabel:` is about the label of the
/// workload's namespace (`nslabel:team=payments`); any other is about the
/// pod's own labels. No Kubernetes label key holds a ':', so the two never
/// meet, and the linter's shadowing and subsumption treat namespace label
/// terms as label terms with no rule of their own.
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

extension SelectorTerm {
    /// What marks a label key as a namespace label's.
    public static let namespaceLabelPrefix = "nslabel:"

    /// The namespace label a label term's key names, or nil for a pod label.
    public static func namespaceLabel(_ key: String) -> String? {
        key.hasPrefix(namespaceLabelPrefix) ? String(key.dropFirst(namespaceLabelPrefix.count)) : nil
    }
}
