import EgressAPI
import KubernetesClient
import Logging
import NIOConcurrencyHelpers

/// The Kubernetes API as the inventory's `kubernetes` partition: pods (of
/// every namespace, or of those named) and namespaces, listed and watched by
/// one `Reflector` each, kept in a `ClusterInventory`, whose changes are
/// handed to the inventory (gathered for `gatherEvents`). Ready once the
/// first full list of each is in.
final class KubernetesSource: InventorySource {
    struct Settings: Sendable {
        /// Namespaces whose pods are watched; empty: all.
        var namespaces: [String] = []
        var trustDomain = "cluster.local"
        var watchTimeoutSeconds = 300
    }

    var partition: InventoryPartition { .kubernetes }

    private let api: KubernetesAPI
    private let settings: Settings
    private let metrics: PDPMetrics
    private let logger: Logger
    private let cluster = NIOLockedValueBox(ClusterInventory())
    /// Lists not yet in: one per pods reflector and one for namespaces.
    private let listsMissing: NIOLockedValueBox<Set<String>>
    /// Whether a publish is scheduled: events that arrive meanwhile go with it.
    private let publishScheduled = NIOLockedValueBox(false)
    /// Held while changes are taken and applied: they go to the inventory in the order they were taken.
    private let publishing = NIOLock()
    /// How long events are gathered before they are handed to the
    /// inventory: each hand-over installs a new snapshot (one copy of the
    /// address table), and a burst of events (a rollout, a relabelled
    /// namespace) should cost one, not one per pod.
    static let gatherEvents: Duration = .milliseconds(100)

    init(api: KubernetesAPI, settings: Settings, metrics: PDPMetrics, logger: Logger) {
        self.api = api
        self.settings = settings
        self.metrics = metrics
        self.logger = logger
        listsMissing = NIOLockedValueBox(Set(Self.podLists(settings.namespaces).map(\.path) + ["/api/v1/namespaces"]))
        metrics.sampleAtScrape { [lastSync] in
            let last = lastSync.withLockedValue { $0 }
            guard last > 0 else { return }
            metrics.kubernetesSinceSync.set(to: Double(nowMilliseconds() - last) / 1000)
        }
    }

    /// When the API last listed or sent an event (Unix milliseconds); 0: never.
    private let lastSync = NIOLockedValueBox<Int64>(0)

    /// Ready once every resource was listed in full once.
    var isReady: Bool { listsMissing.withLockedValue { $0.isEmpty } }

    /// Where pods are listed and watched: all namespaces at once, or each
    /// namespace named (its list then replaces that namespace's pods alone).
    private static func podLists(_ namespaces: [String]) -> [(path: String, namespace: String?)] {
        namespaces.isEmpty ? [("/api/v1/pods", nil)] : namespaces.map { ("/api/v1/namespaces/\($0)/pods", $0) }
    }

    func run(updating inventory: InventoryManager) async {
        await withTaskGroup(of: Void.self) { group in
            for (path, namespace) in Self.podLists(settings.namespaces) {
                group.addTask {
                    await self.follow(Kubernetes.Pod.self, path, inventory) {
                        $0.replacePods($1, inNamespace: namespace)
                    } changed: {
                        $0.apply($1, pod: $2)
                    }
                }
            }
            group.addTask {
                await self.follow(Kubernetes.Namespace.self, "/api/v1/namespaces", inventory) {
                    $0.replaceNamespaces($1)
                } changed: {
                    $0.apply($1, namespace: $2)
                }
            }
        }
        // The HTTP client must be shut down before it goes away; in the
        // background, as waiting for it held the service's stop for seconds
        // (it waits out the watch that was cut).
        Task { [api] in try? await api.shutdown() }
    }

    private func follow<Object: KubernetesObject>(
        _ type: Object.Type, _ path: String, _ inventory: InventoryManager,
        relisted: @escaping @Sendable (inout ClusterInventory, [Object]) -> Void,
        changed: @escaping @Sendable (inout ClusterInventory, Kubernetes.WatchEvent<Object>.Kind, Object) -> Bool
    ) async {
        var reflector = Reflector<Object>(api: api, path: path)
        reflector.watchTimeoutSeconds = settings.watchTimeoutSeconds
        await reflector.run(
            relisted: { items in
                self.cluster.withLockedValue { relisted(&$0, items) }
                self.listsMissing.withLockedValue { _ = $0.remove(path) }
                self.publish(to: inventory)
            },
            changed: { kind, object in
                if self.cluster.withLockedValue({ changed(&$0, kind, object) }) { self.schedulePublish(to: inventory) }
            },
            report: { report in self.record(report, path: path) })
    }

    /// Publishes once `gatherEvents` has passed, with every change made by then.
    private func schedulePublish(to inventory: InventoryManager) {
        let first = publishScheduled.withLockedValue { scheduled in
            defer { scheduled = true }
            return !scheduled
        }
        guard first else { return }
        Task {
            try? await Task.sleep(for: Self.gatherEvents)
            // Cleared before reading the cluster: a change after this point
            // schedules the next publish.
            self.publishScheduled.withLockedValue { $0 = false }
            self.publish(to: inventory)
        }
    }

    /// Hands what changed to the inventory. Until every list is in, what a
    /// partial view would make is held back (it goes with the first
    /// publish): a decision must not see pods of one namespace as if they
    /// were all.
    ///
    /// Taking the changes and applying them is one step (`publishing`):
    /// publishes run from the relist callbacks and the scheduled task at
    /// once, and a pod's change taken later must not be applied before an
    /// older one, which nothing would repair (its change is taken).
    private func publish(to inventory: InventoryManager) {
        guard isReady else { return }
        publishing.withLock {
            let (change, hostNetwork) = cluster.withLockedValue {
                ($0.takeChanges(trustDomain: settings.trustDomain), $0.hostNetworkPods.count)
            }
            metrics.kubernetesHostNetworkPods.set(to: Double(hostNetwork))
            _ = inventory.applyKubernetes(change)
        }
    }

    private func record(_ report: Reflector<some KubernetesObject>.Report, path: String) {
        switch report {
        case .listed, .event:
            let now = nowMilliseconds()
            lastSync.withLockedValue { $0 = now }
            metrics.kubernetesLastSync.set(to: Double(now) / 1000)
        case .expired, .failed: break
        }
        switch report {
        case .listed(let count):
            metrics.kubernetesRelists.increment()
            logger.info("listed from the Kubernetes API", metadata: ["path": "\(path)", "objects": "\(count)"])
        case .event(let kind):
            metrics.kubernetesEvents[kind.rawValue]?.increment()
        case .expired:
            logger.info("the watch's resourceVersion expired (410); listing again", metadata: ["path": "\(path)"])
        case .failed(let error, let delay):
            metrics.kubernetesReconnects.increment()
            logger.warning(
                "the Kubernetes API failed; decisions go on from the last known state",
                metadata: ["path": "\(path)", "error": "\(error)", "retry_in_ms": "\(delay.components.seconds * 1000 + delay.components.attoseconds / 1_000_000_000_000_000)"])
        }
    }
}
