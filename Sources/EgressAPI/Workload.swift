/// A workload in the inventory: who holds which addresses and identities.
/// A pod is named by its namespace and pod name.
public struct Workload: Codable, Sendable, Hashable {
    public var namespace: String
    public var pod: String
    public var serviceAccount: String?
    public var labels: [String: String]
    /// The labels of the workload's namespace, for `nslabel:` selectors.
    public var namespaceLabels: [String: String]
    public var spiffe: String?
    public var ips: [String]

    public init(
        namespace: String, pod: String, serviceAccount: String? = nil, labels: [String: String] = [:],
        namespaceLabels: [String: String] = [:], spiffe: String? = nil, ips: [String] = []
    ) {
        self.namespace = namespace
        self.pod = pod
        self.serviceAccount = serviceAccount
        self.labels = labels
        self.namespaceLabels = namespaceLabels
        self.spiffe = spiffe
        self.ips = ips
    }

    enum CodingKeys: String, CodingKey { case namespace, pod, serviceAccount, labels, namespaceLabels, spiffe, ips }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        namespace = try c.decode(String.self, forKey: .namespace)
        pod = try c.decode(String.self, forKey: .pod)
        serviceAccount = try c.decodeIfPresent(String.self, forKey: .serviceAccount)
        labels = try c.decodeIfPresent([String: String].self, forKey: .labels) ?? [:]
        namespaceLabels = try c.decodeIfPresent([String: String].self, forKey: .namespaceLabels) ?? [:]
        spiffe = try c.decodeIfPresent(String.self, forKey: .spiffe)
        ips = try c.decodeIfPresent([String].self, forKey: .ips) ?? []
    }
}
