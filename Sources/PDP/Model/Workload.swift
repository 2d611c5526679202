import PolicyLang

/// A workload in the inventory: who holds which addresses and identities.
/// A pod is named by its namespace and pod name.
public struct Workload: Codable, Sendable, Hashable {
    public var namespace: String
    public var pod: String
    public var serviceAccount: String?
    public var labels: [String: String]
    public var spiffe: String?
    public var ips: [String]

    public init(
        namespace: String, pod: String, serviceAccount: String? = nil, labels: [String: String] = [:],
        spiffe: String? = nil, ips: [String] = []
    ) {
        self.namespace = namespace
        self.pod = pod
        self.serviceAccount = serviceAccount
        self.labels = labels
        self.spiffe = spiffe
        self.ips = ips
    }

    enum CodingKeys: String, CodingKey { case namespace, pod, serviceAccount, labels, spiffe, ips }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        namespace = try c.decode(String.self, forKey: .namespace)
        pod = try c.decode(String.self, forKey: .pod)
        serviceAccount = try c.decodeIfPresent(String.self, forKey: .serviceAccount)
        labels = try c.decodeIfPresent([String: String].self, forKey: .labels) ?? [:]
        spiffe = try c.decodeIfPresent(String.self, forKey: .spiffe)
        ips = try c.decodeIfPresent([String].self, forKey: .ips) ?? []
    }

    public var identity: SourceIdentity {
        SourceIdentity(namespace: namespace, serviceAccount: serviceAccount, pod: pod, spiffe: spiffe, labels: labels)
    }

    /// What is wrong with this workload, if anything: names must be usable
    /// in selectors and addresses must parse, or decisions would silently miss.
    public func problems() -> [String] {
        var problems: [String] = []
        if namespace.isEmpty { problems.append("namespace is empty") }
        if pod.isEmpty { problems.append("pod is empty") }
        for ip in ips where IPAddressText.normalize(ip) == nil {
            problems.append("'\(ip)' is not an IPv4 or IPv6 address")
        }
        return problems
    }
}
