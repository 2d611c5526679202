import EgressAPI
import PolicyLang

extension Workload {
    public var identity: SourceIdentity {
        SourceIdentity(
            namespace: namespace, serviceAccount: serviceAccount, pod: pod, spiffe: spiffe, labels: labels,
            namespaceLabels: namespaceLabels)
    }

    /// What is wrong with this workload, if anything: names must be usable
    /// in selectors and addresses must parse, or decisions would silently miss.
    /// What is wrong with a workload's name, if anything: the rule for every
    /// path that names one (the admin API's, the workloads file).
    /// Control characters first: Kubernetes' messages quote the name, which
    /// would carry them into a log.
    static func nameProblem(namespace: String, pod: String) -> String? {
        PrintableText.problem(namespace, field: "namespace") ?? KubernetesNames.checkLabel(namespace, what: "namespace")
            ?? PrintableText.problem(pod, field: "pod") ?? KubernetesNames.checkSubdomain(pod, what: "pod name")
    }

    public func problems() -> [String] {
        var problems: [String] = []
        // Kubernetes' own rules: a name the API server would refuse is not a
        // workload's, and one with a control character (`a%00b` on the
        // admin path) was cut short in the store and took another's place.
        if let problem = Self.nameProblem(namespace: namespace, pod: pod) { problems.append(problem) }
        if let serviceAccount,
            let problem = PrintableText.problem(serviceAccount, field: "serviceAccount")
                ?? KubernetesNames.checkSubdomain(serviceAccount, what: "service account")
        {
            problems.append(problem)
        }
        for (field, map) in [("labels", labels), ("namespaceLabels", namespaceLabels)] {
            for (key, value) in map.sorted(by: { $0.key < $1.key }) {
                if let problem = PrintableText.problem(key, field: field) ?? PrintableText.problem(value, field: field)
                    ?? KubernetesNames.checkLabelKey(key) ?? KubernetesNames.checkLabelValue(value)
                {
                    problems.append(problem)
                }
            }
        }
        if let spiffe, let problem = KubernetesNames.checkSPIFFE(spiffe) ?? PrintableText.problem(spiffe, field: "spiffe") {
            problems.append(problem)
        }
        for ip in ips where IPAddressText.normalize(ip) == nil {
            problems.append("'\(ip)' is not an IPv4 or IPv6 address")
        }
        return problems
    }
}
