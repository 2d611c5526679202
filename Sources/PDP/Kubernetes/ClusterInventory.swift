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
///   kept, and `InventoryTables` withholds the address and reports the clash.
/// - A pod's namespace labels are its namespace's, as last seen.
///
/// It remembers which pods and namespaces changed since the inventory last
/// took its changes (`takeChanges`), so that a burst of events costs the
/// inventory the pods it touched, not all of them.
struct ClusterInventory: Sendable {
    private(set) var pods: [String: Kubernetes.Pod] = [:]
    private(set) var namespaces: [String: Kubernetes.Namespace] = [:]
    /// Pods changed (or gone) since `takeChanges`, by key.
    private var changedPods = Set<String>()
    /// Namespaces whose labels changed since `takeChanges`: each of their
    /// pods is a changed workload.
    private var changedNamespaces = Set<String>()
    /// The running pods left out for sharing their node's network, by key.
    private(set) var hostNetworkPods = Set<String>()

    /// The key a pod is kept under: namespace and name, which the API keeps
    /// unique among live pods. It is also the name of its workload.
    static func key(_ pod: Kubernetes.Pod) -> String { "\(pod.metadata.namespace ?? "")/\(pod.metadata.name)" }

    /// Replaces every pod (of `namespace`, when the list was of one) with a
    /// full list's (a relist): applied as a diff, so that no identity a pod
    /// keeps disappears for a moment, and only what differs is a change.
    mutating func replacePods(_ list: [Kubernetes.Pod], inNamespace namespace: String? = nil) {
        var listed: [String: Kubernetes.Pod] = [:]
        for pod in list { listed[Self.key(pod)] = pod }
        for (key, pod) in pods where namespace == nil || pod.metadata.namespace == namespace {
            if listed[key] == nil {
                pods.removeValue(forKey: key)
                changedPods.insert(key)
            }
        }
        for (key, pod) in listed where pods[key] != pod {
            pods[key] = pod
            changedPods.insert(key)
        }
    }

    mutating func replaceNamespaces(_ list: [Kubernetes.Namespace]) {
        let listed = Dictionary(list.map { ($0.metadata.name, $0) }, uniquingKeysWith: { _, last in last })
        for (name, old) in namespaces where listed[name]?.metadata.labels != old.metadata.labels {
            changedNamespaces.insert(name)
        }
        for (name, new) in listed where namespaces[name]?.metadata.labels != new.metadata.labels {
            changedNamespaces.insert(name)
        }
        namespaces = listed
    }

    /// Applies a watch event; true when it changed anything.
    mutating func apply(_ kind: Kubernetes.EventType, pod: Kubernetes.Pod) -> Bool {
        let key = Self.key(pod)
        guard Self.apply(kind, pod, key: key, to: &pods) else { return false }
        changedPods.insert(key)
        return true
    }

    mutating func apply(_ kind: Kubernetes.EventType, namespace: Kubernetes.Namespace) -> Bool {
        let name = namespace.metadata.name
        let labels = namespaces[name]?.metadata.labels
        guard Self.apply(kind, namespace, key: name, to: &namespaces) else { return false }
        if namespaces[name]?.metadata.labels != labels { changedNamespaces.insert(name) }
        return true
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

    /// What changed for the inventory since the last call: the workload of
    /// each changed pod that makes one, and the names of those that no
    /// longer do (deleted, finished, without an address, on the node's
    /// network). Sorted, so that a change reads the same every time.
    mutating func takeChanges(trustDomain: String) -> InventoryChange {
        var keys = changedPods
        if !changedNamespaces.isEmpty {
            for (key, pod) in pods where changedNamespaces.contains(pod.metadata.namespace ?? "") { keys.insert(key) }
        }
        changedPods.removeAll()
        changedNamespaces.removeAll()
        var change = InventoryChange()
        for key in keys.sorted() {
            if let pod = pods[key], pod.spec?.hostNetwork == true, !Self.addresses(of: pod).isEmpty {
                hostNetworkPods.insert(key)
            } else {
                hostNetworkPods.remove(key)
            }
            if let workload = pods[key].flatMap({ workload(of: $0, trustDomain: trustDomain) }) {
                change.upserts.append(workload)
            } else {
                change.removals.append(key)
            }
        }
        return change
    }

    /// The workload a pod makes, if it makes one now.
    private func workload(of pod: Kubernetes.Pod, trustDomain: String) -> Workload? {
        let ips = Self.addresses(of: pod)
        guard !ips.isEmpty, let namespace = pod.metadata.namespace, pod.spec?.hostNetwork != true else { return nil }
        let serviceAccount = pod.spec?.serviceAccountName ?? "default"
        return Workload(
            namespace: namespace, pod: pod.metadata.name, serviceAccount: serviceAccount,
            labels: pod.metadata.labels ?? [:],
            namespaceLabels: namespaces[namespace]?.metadata.labels ?? [:],
            spiffe: "spiffe://\(trustDomain)/ns/\(namespace)/sa/\(serviceAccount)", ips: ips)
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
