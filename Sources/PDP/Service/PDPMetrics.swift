import ConnectionLimits
import NIOConcurrencyHelpers
import Prometheus

/// The service's Prometheus metrics, served at the admin API's `/metrics`.
public final class PDPMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    let allowed: Counter
    let denied: Counter
    let latency: DurationHistogram
    let activeRevision: Gauge
    let auditBacklog: Gauge
    let auditWritten: Counter
    let auditHeadSeq: Gauge
    let watchSubscribers: Gauge
    let accessReported: Counter
    /// Addresses, SPIFFE IDs and names two workloads claim now (`InventoryMerge`).
    let inventoryConflicts: Gauge
    /// The Kubernetes inventory (`--kubernetes`): full lists, watch events by
    /// type, failures retried, pods left out for sharing their node's
    /// network, and when the API last told anything (Unix seconds).
    let kubernetesRelists: Counter
    let kubernetesEvents: [String: Counter]
    let kubernetesReconnects: Counter
    let kubernetesHostNetworkPods: Gauge
    let kubernetesLastSync: Gauge
    /// Seconds since `kubernetesLastSync`, worked out at each scrape.
    let kubernetesSinceSync: Gauge
    /// Decision API connections open now.
    let decisionConnections: Gauge
    /// Decision API connections closed at accept, by `ConnectionAdmission.Refusal`.
    let connectionsRefused: [ConnectionAdmission.Refusal: Counter]
    /// Decision API connections the service closed, by why.
    let connectionsClosed: [DecisionConnectionHandler.CloseReason: Counter]
    /// Requests whose body did not arrive within the request timeout (408).
    let requestsTimedOut: Counter
    /// Requests answered 503 because the body budget was spent.
    let bodyBudgetRefusals: Counter
    /// Bytes of request bodies held now; set from the budget at each scrape.
    let bodyBytesHeld: Gauge
    /// Validate, revision and audit verification requests refused for their
    /// size (413), time (422), a full queue or cancellation (503).
    let policyChecksRefused: Counter
    /// `egress_pdp_audit_head_info{hash="..."} 1`: the chain head for an
    /// outside system to anchor. Replaced (not added to) when the head moves.
    private let headInfo: NIOLockedValueBox<Gauge?> = NIOLockedValueBox(nil)

    public init() {
        func name(_ metric: String, _ unit: String = "", _ help: String) -> MetricNameDescriptor {
            MetricNameDescriptor(namespace: "egress", subsystem: "pdp", metricName: metric, unitName: unit, helpText: help)
        }
        let decisions = name("decisions", "total", "Decisions answered, by verdict.")
        allowed = registry.makeCounter(descriptor: decisions, labels: [("verdict", "allow")])
        denied = registry.makeCounter(descriptor: decisions, labels: [("verdict", "deny")])
        latency = registry.makeDurationHistogram(
            descriptor: name("decision_duration", "seconds", "Time from a complete decision request to its answer, inside the service."),
            buckets: [.microseconds(5), .microseconds(10), .microseconds(25), .microseconds(50), .microseconds(100),
                      .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(5)])
        activeRevision = registry.makeGauge(descriptor: name("active_revision", "", "The active policy revision (0: none)."))
        auditBacklog = registry.makeGauge(descriptor: name("audit_backlog", "", "Audit records accepted but not yet written."))
        auditWritten = registry.makeCounter(descriptor: name("audit_records", "total", "Audit records written to the chain."))
        auditHeadSeq = registry.makeGauge(descriptor: name("audit_head_seq", "", "Sequence number of the audit chain head."))
        watchSubscribers = registry.makeGauge(descriptor: name("watch_subscribers", "", "Open GET /v1/watch streams."))
        accessReported = registry.makeCounter(
            descriptor: name("access_records", "total", "Connection records reported by enforcers."))
        inventoryConflicts = registry.makeGauge(
            descriptor: name("inventory_conflicts", "", "Addresses, SPIFFE IDs and names that two workloads claim now; a clashing address or SPIFFE ID identifies neither."))
        kubernetesRelists = registry.makeCounter(descriptor: name("kubernetes_lists", "total", "Full lists of pods or namespaces from the Kubernetes API."))
        let events = name("kubernetes_events", "total", "Watch events from the Kubernetes API, by type.")
        let registryForEvents = registry
        kubernetesEvents = Dictionary(
            uniqueKeysWithValues: ["ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"].map {
                ($0, registryForEvents.makeCounter(descriptor: events, labels: [("type", $0)]))
            })
        kubernetesReconnects = registry.makeCounter(
            descriptor: name("kubernetes_failures", "total", "Lists and watches of the Kubernetes API that failed and were retried after a backoff."))
        kubernetesHostNetworkPods = registry.makeGauge(
            descriptor: name("kubernetes_host_network_pods", "", "Running hostNetwork pods, which get no identity from their node's address."))
        kubernetesLastSync = registry.makeGauge(
            descriptor: name("kubernetes_last_sync_timestamp_seconds", "", "When the Kubernetes API last listed or sent an event (Unix seconds); time() minus this is how stale the inventory may be."))
        kubernetesSinceSync = registry.makeGauge(
            descriptor: name("kubernetes_seconds_since_sync", "", "Seconds since the Kubernetes API last listed or sent an event; it grows while the API server is away and decisions go on from the last known state."))
        decisionConnections = registry.makeGauge(descriptor: name("decision_connections", "", "Decision API connections open."))
        let refused = name("decision_connections_refused", "total", "Decision API connections closed at accept, by reason.")
        let registry = registry
        connectionsRefused = Dictionary(
            uniqueKeysWithValues: ConnectionAdmission.Refusal.allCases.map {
                ($0, registry.makeCounter(descriptor: refused, labels: [("reason", $0.rawValue)]))
            })
        let closed = name("decision_connections_closed", "total", "Decision API connections the service closed, by reason.")
        connectionsClosed = Dictionary(
            uniqueKeysWithValues: DecisionConnectionHandler.CloseReason.allCases.map {
                ($0, registry.makeCounter(descriptor: closed, labels: [("reason", $0.rawValue)]))
            })
        requestsTimedOut = registry.makeCounter(
            descriptor: name("decision_request_timeouts", "total", "Requests whose body did not arrive in time (answered 408)."))
        bodyBudgetRefusals = registry.makeCounter(
            descriptor: name("decision_body_budget_refusals", "total", "Requests answered 503 because the request-body budget was spent."))
        bodyBytesHeld = registry.makeGauge(
            descriptor: name("decision_body_bytes_held", "", "Bytes of request bodies held in memory now, across all connections."))
        policyChecksRefused = registry.makeCounter(
            descriptor: name("policy_checks_refused", "total", "Validate, revision and audit verification requests refused for their size, time, concurrency or cancellation."))
    }

    /// One series carries both the head's sequence number and its hash, so
    /// that a scrape never pairs a number with another record's hash. The new
    /// series is made before the old one goes: a scrape sees one or both.
    func setAuditHead(seq: Int64, hash: String) {
        headInfo.withLockedValue { current in
            let gauge = registry.makeGauge(
                descriptor: MetricNameDescriptor(
                    namespace: "egress", subsystem: "pdp", metricName: "audit_head", unitName: "info",
                    helpText: "The audit chain head (its seq and hash), for an outside system to anchor."),
                labels: [("seq", String(seq)), ("hash", hash)])
            gauge.set(to: 1)
            if let current { registry.unregisterGauge(current) }
            current = gauge
            auditHeadSeq.set(to: Double(seq))
        }
    }

    /// Values read only when scraped (a gauge of an atomic count, say).
    private let samplers = NIOLockedValueBox<[@Sendable () -> Void]>([])

    /// Runs `sample` before every scrape.
    func sampleAtScrape(_ sample: @escaping @Sendable () -> Void) { samplers.withLockedValue { $0.append(sample) } }

    public func render() -> String {
        for sample in samplers.withLockedValue({ $0 }) { sample() }
        return registry.emitToString()
    }
}
