import EgressAPI
import PolicyLang

extension Workload {
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
