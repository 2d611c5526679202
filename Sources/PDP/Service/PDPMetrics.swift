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

    public func render() -> String { registry.emitToString() }
}
