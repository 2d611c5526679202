import EgressAPI
import KubernetesClient

/// The pods and namespaces the Kubernetes API has told of, and the workloads
/// they make: what the Kubernetes inventory source keeps between events.
/// Without I/O, so that every rule of the mapping is tested alone.
///
/// - A pod holds each address of `status.podIPs` (or `status.podIP`) from
///   when it has one until it is deleted or its phase is `Succeeded` or
///   `Failed`. A pod being deleted still runs, and keeps its addresses.
/// - A `hostNetwork` pod shares its node's address: it gets no identity
///   from it (`hostNetworkPods` counts them).
/// - Two live pods claiming one address are not settled here: both are
///   kept, and `InventoryMerge` withholds the address and reports the clash.
/// - A pod's namespace labels are its namespace's, as last seen.
struct ClusterInventory: Sendable {
    private(set) var pods: [String: Kubernetes.Pod] = [:]
    private(set) var namespaces: [String: Kubernetes.Namespace] = [:]

    /// The key a pod is kept under: namespace and name, which the API keeps
    /// unique among live pods.
    static func key(_ pod: Kubernetes.Pod) -> String { "\(pod.metadata.namespace ?? "")/\(pod.metadata.name)" }

    /// Replaces every pod (of `namespace`, when the list was of one) with a
    /// full list's (a relist): applied as a whole, so that no identity a pod
    /// keeps disappears for a moment.
    mutating func replacePods(_ list: [Kubernetes.Pod], inNamespace namespace: String? = nil) {
        if let namespace {
            pods = pods.filter { $0.value.metadata.namespace != namespace }
        } else {
            pods.removeAll()
        }
        for pod in list { pods[Self.key(pod)] = pod }
    }

    mutating func replaceNamespaces(_ list: [Kubernetes.Namespace]) {
        namespaces = Dictionary(list.map { ($0.metadata.name, $0) }, uniquingKeysWith: { _, last in last })
    }

    /// Applies a watch event; true when it changed anything.
    mutating func apply(_ kind: Kubernetes.EventType, pod: Kubernetes.Pod) -> Bool {
        Self.apply(kind, pod, key: Self.key(pod), to: &pods)
    }

    mutating func apply(_ kind: Kubernetes.EventType, namespace: Kubernetes.Namespace) -> Bool {
        Self.apply(kind, namespace, key: namespace.metadata.name, to: &namespaces)
    }

    private static func apply<Object: Equatable>(
        _ kind: Kubernetes.EventType, _ object: Object, key: String, to objects: inout [String: Object]
    ) -> Bool {
        switch kind {
        case .added, .modified:
            guard objects[key] != object else { return false }
            objects[key] = object
            return true
        case .deleted:
            return objects.removeValue(forKey: key) != nil
        case .bookmark, .error:
            return false
        }
    }

    /// The workloads the pods make, sorted by namespace and name, and how
    /// many running pods were left out for sharing their node's network.
    func workloads(trustDomain: String) -> (workloads: [Workload], hostNetworkPods: Int) {
        var workloads: [Workload] = []
        var hostNetwork = 0
        for (_, pod) in pods.sorted(by: { $0.key < $1.key }) {
            let ips = Self.addresses(of: pod)
            guard !ips.isEmpty, let namespace = pod.metadata.namespace else { continue }
            if pod.spec?.hostNetwork == true {
                hostNetwork += 1
                continue
            }
            let serviceAccount = pod.spec?.serviceAccountName ?? "default"
            workloads.append(
                Workload(
                    namespace: namespace, pod: pod.metadata.name, serviceAccount: serviceAccount,
                    labels: pod.metadata.labels ?? [:],
                    namespaceLabels: namespaces[namespace]?.metadata.labels ?? [:],
                    spiffe: "spiffe://\(trustDomain)/ns/\(namespace)/sa/\(serviceAccount)", ips: ips))
        }
        return (workloads, hostNetwork)
    }

    /// The addresses a pod holds now: none once it has finished.
    static func addresses(of pod: Kubernetes.Pod) -> [String] {
        guard let status = pod.status, status.phase != "Succeeded", status.phase != "Failed" else { return [] }
        let listed = (status.podIPs ?? []).map(\.ip)
        let all = listed.isEmpty ? (status.podIP.map { [$0] } ?? []) : listed
        var seen = Set<String>()
        return all.compactMap { IPAddressText.normalize($0) }.filter { seen.insert($0).inserted }
    }
}
