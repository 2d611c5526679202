import EgressAPI
import Foundation
import PolicyLang
import Testing

@testable import PDP
import KubernetesClient

/// From Kubernetes pods and namespaces to workloads, without the API: each
/// rule of `ClusterInventory`, the changes it hands on, and how its clashes
/// meet `InventoryTables`.
struct ClusterInventoryTests {
    /// The cluster's changes applied to `tables`; the workloads they hold.
    static func take(_ cluster: inout ClusterInventory, into tables: inout InventoryTables, trustDomain: String = "t") -> InventoryChange {
        let change = cluster.takeChanges(trustDomain: trustDomain)
        _ = tables.apply(change, to: .kubernetes)
        return change
    }

    static func pod(
        _ name: String, namespace: String = "shop", sa: String? = "checkout", labels: [String: String] = ["app": "web"],
        phase: String = "Running", ips: [String] = [], podIP: String? = nil, hostNetwork: Bool = false
    ) -> Kubernetes.Pod {
        Kubernetes.Pod(
            metadata: .init(name: name, namespace: namespace, labels: labels),
            spec: .init(serviceAccountName: sa, hostNetwork: hostNetwork),
            status: .init(phase: phase, podIP: podIP, podIPs: ips.map { .init(ip: $0) }))
    }

    static func namespace(_ name: String, _ labels: [String: String]) -> Kubernetes.Namespace {
        Kubernetes.Namespace(metadata: .init(name: name, labels: labels))
    }

    @Test func aRunningPodIsAWorkloadWithItsNamespacesLabelsAndSPIFFEID() {
        var cluster = ClusterInventory()
        cluster.replaceNamespaces([Self.namespace("shop", ["team": "payments"])])
        cluster.replacePods([Self.pod("web-1", ips: ["198.18.7.1", "FD00::7:1"])])
        let change = cluster.takeChanges(trustDomain: "cluster.local")
        #expect(cluster.hostNetworkPods.isEmpty)
        #expect(change.removals.isEmpty)
        #expect(change.upserts == [
            Workload(
                namespace: "shop", pod: "web-1", serviceAccount: "checkout", labels: ["app": "web"],
                namespaceLabels: ["team": "payments"], spiffe: "spiffe://cluster.local/ns/shop/sa/checkout",
                ips: ["198.18.7.1", "fd00::7:1"]),
        ])
    }

    @Test func addressesAreHeldFromWhenThereAreAnyUntilTheEnd() {
        var cluster = ClusterInventory()
        cluster.replacePods([
            Self.pod("pending"),
            Self.pod("old-api", podIP: "198.18.7.2"),
            Self.pod("done", phase: "Succeeded", ips: ["198.18.7.3"]),
            Self.pod("failed", phase: "Failed", ips: ["198.18.7.4"]),
            Self.pod("node-agent", ips: ["198.18.0.1"], hostNetwork: true),
            Self.pod("default-sa", sa: nil, ips: ["198.18.7.5"]),
        ])
        let change = cluster.takeChanges(trustDomain: "example.org")
        #expect(change.upserts.map(\.pod) == ["default-sa", "old-api"])
        #expect(change.upserts.first?.spiffe == "spiffe://example.org/ns/shop/sa/default")
        #expect(change.upserts.last?.ips == ["198.18.7.2"])
        #expect(change.removals == ["shop/done", "shop/failed", "shop/node-agent", "shop/pending"])
        #expect(cluster.hostNetworkPods == ["shop/node-agent"])
        // The pod leaves the node's network: it is a workload, and no longer counted.
        cluster.replacePods([Self.pod("node-agent", ips: ["198.18.7.6"])])
        let moved = cluster.takeChanges(trustDomain: "example.org")
        #expect(moved.upserts.map(\.pod) == ["node-agent"])
        #expect(cluster.hostNetworkPods.isEmpty)
    }

    @Test func eventsChangeThePodsAndSayWhetherAnythingChanged() {
        var cluster = ClusterInventory()
        let web = Self.pod("web-1", ips: ["198.18.7.1"])
        // (Each change is taken into a constant: `#expect` cannot hold a mutating call.)
        let added = cluster.apply(.added, pod: web)
        let same = cluster.apply(.modified, pod: web)
        let relabelled = cluster.apply(.modified, pod: Self.pod("web-1", labels: ["app": "batch"], ips: ["198.18.7.1"]))
        #expect(added && !same && relabelled, "the same pod again changes nothing")
        let change = cluster.takeChanges(trustDomain: "t")
        #expect(change.upserts.map(\.labels) == [["app": "batch"]])
        let nothing = cluster.takeChanges(trustDomain: "t")
        #expect(nothing.isEmpty, "changes are handed on once")
        let bookmark = cluster.apply(.bookmark, pod: web)
        let deleted = cluster.apply(.deleted, pod: web)
        let again = cluster.apply(.deleted, pod: web)
        #expect(!bookmark && deleted && !again)
        let gone = cluster.takeChanges(trustDomain: "t")
        #expect(gone == InventoryChange(removals: ["shop/web-1"]))
        let namespace = cluster.apply(.added, namespace: Self.namespace("shop", ["tier": "gold"]))
        let sameNamespace = cluster.apply(.modified, namespace: Self.namespace("shop", ["tier": "gold"]))
        #expect(namespace && !sameNamespace)
    }

    /// A namespace's new labels change every pod of it, and no other.
    @Test func aNamespaceLabelChangeChangesItsPodsAlone() {
        var cluster = ClusterInventory()
        cluster.replaceNamespaces([Self.namespace("shop", ["tier": "gold"]), Self.namespace("bank", [:])])
        cluster.replacePods([
            Self.pod("a", ips: ["198.18.7.1"]), Self.pod("b", ips: ["198.18.7.2"]),
            Self.pod("c", namespace: "bank", ips: ["198.18.7.3"]),
        ])
        _ = cluster.takeChanges(trustDomain: "t")
        let changed = cluster.apply(.modified, namespace: Self.namespace("shop", ["tier": "silver"]))
        #expect(changed)
        let change = cluster.takeChanges(trustDomain: "t")
        #expect(change.upserts.map(\.pod) == ["a", "b"])
        #expect(change.upserts.allSatisfy { $0.namespaceLabels == ["tier": "silver"] })
        // A relist that says the same changes nothing; one without a namespace changes its pods.
        cluster.replaceNamespaces([Self.namespace("shop", ["tier": "silver"]), Self.namespace("bank", [:])])
        let same = cluster.takeChanges(trustDomain: "t")
        #expect(same.isEmpty)
        cluster.replaceNamespaces([Self.namespace("shop", ["tier": "silver"])])
        let dropped = cluster.takeChanges(trustDomain: "t")
        #expect(dropped.upserts.map(\.pod) == ["c"])
    }

    /// A relist is a diff: pods it no longer lists are gone, pods it lists
    /// unchanged are no change, and a list of one namespace leaves the others.
    @Test func aRelistHandsOnOnlyWhatDiffers() {
        var cluster = ClusterInventory()
        cluster.replacePods([
            Self.pod("a", ips: ["198.18.7.1"]), Self.pod("b", ips: ["198.18.7.2"]),
            Self.pod("c", namespace: "bank", ips: ["198.18.7.3"]),
        ])
        _ = cluster.takeChanges(trustDomain: "t")
        cluster.replacePods([Self.pod("a", ips: ["198.18.7.1"]), Self.pod("d", ips: ["198.18.7.4"])], inNamespace: "shop")
        let change = cluster.takeChanges(trustDomain: "t")
        #expect(change.upserts.map(\.pod) == ["d"])
        #expect(change.removals == ["shop/b"])
        #expect(cluster.pods.keys.sorted() == ["bank/c", "shop/a", "shop/d"])
    }

    /// An address reused before the old pod is gone: neither pod is
    /// identified by it until one lets go.
    @Test func twoLivePodsOnOneAddressIdentifyNeither() {
        var cluster = ClusterInventory()
        var tables = InventoryTables()
        cluster.replacePods([Self.pod("old", ips: ["198.18.7.9"]), Self.pod("new", ips: ["198.18.7.9"])])
        _ = Self.take(&cluster, into: &tables)
        #expect(tables.byIP["198.18.7.9"] == nil)
        #expect(tables.conflicts.values.map(\.description) == ["address 198.18.7.9 is claimed by kubernetes:shop/new and kubernetes:shop/old"])
        // Sibling pods share their service account's SPIFFE ID: not a clash.
        cluster.replacePods([
            Self.pod("old", ips: ["198.18.7.9"]), Self.pod("new", ips: ["198.18.7.9"]),
            Self.pod("a", ips: ["198.18.7.10"]), Self.pod("b", ips: ["198.18.7.11"]),
        ])
        _ = Self.take(&cluster, into: &tables)
        #expect(tables.conflicts.count == 1)
        // The old pod lets go: the address identifies the new one.
        let deleted = cluster.apply(.deleted, pod: Self.pod("old", ips: ["198.18.7.9"]))
        #expect(deleted)
        _ = Self.take(&cluster, into: &tables)
        #expect(tables.byIP["198.18.7.9"]?.identity.pod == "new")
        #expect(tables.conflicts.isEmpty)
    }

    /// An enforcer that verified a shared SPIFFE ID (mTLS) gets what the
    /// pods of that service account have in common, not one pod's labels.
    @Test func aSharedSPIFFEIDIdentifiesOnlyWhatItsPodsShare() {
        var cluster = ClusterInventory()
        var tables = InventoryTables()
        cluster.replacePods([
            Self.pod("a", labels: ["app": "a"], ips: ["198.18.7.10"]), Self.pod("b", labels: ["app": "b"], ips: ["198.18.7.11"]),
        ])
        _ = Self.take(&cluster, into: &tables)
        let shared = tables.bySpiffe["spiffe://t/ns/shop/sa/checkout"]?.identity
        #expect(shared == SourceIdentity(namespace: "shop", serviceAccount: "checkout", spiffe: "spiffe://t/ns/shop/sa/checkout"))
        #expect(tables.byIP["198.18.7.11"]?.identity.labels == ["app": "b"])
        // One pod left: the ID is that pod's.
        _ = cluster.apply(.deleted, pod: Self.pod("b", labels: ["app": "b"], ips: ["198.18.7.11"]))
        _ = Self.take(&cluster, into: &tables)
        #expect(tables.bySpiffe["spiffe://t/ns/shop/sa/checkout"]?.identity.labels == ["app": "a"])
    }

    @Test func aPodAndAStoredWorkloadOnOneAddressIsReportedNotSettled() {
        var cluster = ClusterInventory()
        var tables = InventoryTables()
        _ = tables.replace(.stored, with: [Workload(namespace: "vms", pod: "db-1", ips: ["198.18.7.1"])])
        cluster.replacePods([Self.pod("web-1", ips: ["198.18.7.1"])])
        let change = cluster.takeChanges(trustDomain: "t")
        let appeared = tables.apply(change, to: .kubernetes)
        #expect(tables.byIP["198.18.7.1"] == nil)
        #expect(appeared.map(\.claimants) == [["kubernetes:shop/web-1", "stored:vms/db-1"]])
    }

    @Test func aPodListAndWatchEventsDecodeAsTheAPIServesThem() throws {
        let list = """
            {"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"1234","continue":"abc"},
             "items":[{"metadata":{"name":"web-1","namespace":"shop","uid":"u1","resourceVersion":"1200","labels":{"app":"web"}},
                       "spec":{"serviceAccountName":"checkout","containers":[{"name":"c","image":"x"}]},
                       "status":{"phase":"Running","podIP":"198.18.7.1","podIPs":[{"ip":"198.18.7.1"}]}}]}
            """
        let page = try JSONDecoder().decode(Kubernetes.List<Kubernetes.Pod>.self, from: Data(list.utf8))
        #expect(page.metadata.resourceVersion == "1234" && page.metadata.continue == "abc")
        #expect(page.items.first?.status?.podIPs?.first?.ip == "198.18.7.1")
        let event = #"{"type":"BOOKMARK","object":{"kind":"Pod","apiVersion":"v1","metadata":{"resourceVersion":"1300"}}}"#
        let bookmark = try JSONDecoder().decode(Kubernetes.WatchEvent<Kubernetes.Pod>.self, from: Data(event.utf8))
        #expect(bookmark.type == .bookmark && bookmark.object.metadata.resourceVersion == "1300")
        let gone = #"{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","status":"Failure","message":"too old resource version","reason":"Expired","code":410}}"#
        let error = try JSONDecoder().decode(Kubernetes.WatchEvent<Kubernetes.Status>.self, from: Data(gone.utf8))
        #expect(error.type == .error && error.object.code == 410)
    }
}
