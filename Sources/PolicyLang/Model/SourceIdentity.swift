/// What is known about the workload that opened a connection. A source with no
/// known identity is represented as `nil` where a `SourceIdentity?` is taken,
/// and matches only the `*` selector.
public struct SourceIdentity: Sendable, Hashable {
    public var namespace: String?
    public var serviceAccount: String?
    public var pod: String?
    public var spiffe: String?
    public var labels: [String: String]
    /// The labels of the workload's namespace (`nslabel:` terms).
    public var namespaceLabels: [String: String]

    public init(
        namespace: String? = nil, serviceAccount: String? = nil, pod: String? = nil,
        spiffe: String? = nil, labels: [String: String] = [:], namespaceLabels: [String: String] = [:]
    ) {
        self.namespace = namespace
        self.serviceAccount = serviceAccount
        self.pod = pod
        self.spiffe = spiffe
        self.labels = labels
        self.namespaceLabels = namespaceLabels
    }

    /// True when nothing at all is known: such a source is treated as unknown.
    public var isEmpty: Bool {
        namespace == nil && serviceAccount == nil && pod == nil && spiffe == nil && labels.isEmpty && namespaceLabels.isEmpty
    }
}

/// The outcome of a decision.
public enum Verdict: String, Sendable, Hashable {
    case allow
    case deny
}
