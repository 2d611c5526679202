import EnforcerCore
import Prometheus

/// egress-dns's Prometheus metrics, served at the admin listener's
/// `/metrics`: what every enforcer counts (`core`), and the queries.
public final class DNSMetrics: Sendable {
    /// Every way a query ends, the `outcome` label of `egress_dns_queries_total`.
    enum Outcome: String, CaseIterable, Sendable {
        /// Decided and forwarded.
        case allowed
        /// A name of the cluster's own zones, forwarded undecided.
        case `internal`
        /// Refused: the policy does not let the workload reach the name.
        case refusedPolicy = "refused_policy"
        /// Refused: a query type the operator refuses.
        case refusedType = "refused_type"
        /// Answered with an error of egress-dns's own: FORMERR, NOTIMP, REFUSED for another class or the root.
        case malformed
        /// SERVFAIL: the decision service could not be asked.
        case decisionFailed = "decision_failed"
        /// SERVFAIL: no upstream answered.
        case upstreamFailed = "upstream_failed"
        /// Dropped unanswered: not a query, or too many waiting.
        case dropped
    }

    public let core: EnforcerMetrics
    private let queries: [Outcome: Counter]
    let upstreamQueries: Counter
    let upstreamTimeouts: Counter
    let upstreamUnmatched: Counter
    let echStripped: Counter
    let truncated: Counter
    let tcpConnectionsOpen: Gauge
    let tcpRefused: Counter
    let inflight: Gauge
    let countedBacklog: Gauge

    public init() {
        core = EnforcerMetrics(subsystem: "dns")
        let registry = core.registry
        func name(_ metric: String, _ unit: String = "", _ help: String) -> MetricNameDescriptor {
            MetricNameDescriptor(namespace: "egress", subsystem: "dns", metricName: metric, unitName: unit, helpText: help)
        }
        let queries = name("queries", "total", "Workload queries handled, by outcome.")
        var byOutcome: [Outcome: Counter] = [:]
        for outcome in Outcome.allCases {
            byOutcome[outcome] = registry.makeCounter(descriptor: queries, labels: [("outcome", outcome.rawValue)])
        }
        self.queries = byOutcome
        upstreamQueries = registry.makeCounter(descriptor: name("upstream_queries", "total", "Queries sent to an upstream, retries included."))
        upstreamTimeouts = registry.makeCounter(
            descriptor: name("upstream_failures", "total", "Upstream attempts that got no answer in time (the next upstream is tried)."))
        upstreamUnmatched = registry.makeCounter(
            descriptor: name("upstream_unmatched", "total", "Datagrams on the upstream socket dropped: not from an upstream, not awaited, or for another question."))
        echStripped = registry.makeCounter(descriptor: name("ech_stripped", "total", "Answers that lost an ech parameter (or an unreadable SVCB/HTTPS record)."))
        truncated = registry.makeCounter(
            descriptor: name("truncated", "total", "UDP answers sent truncated (TC) because they did not fit the workload's size: it retries over TCP."))
        tcpConnectionsOpen = registry.makeGauge(descriptor: name("tcp_connections_open", "", "Workload TCP connections open now."))
        tcpRefused = registry.makeCounter(
            descriptor: name("tcp_connections_refused", "total", "Workload TCP connections closed at once: --max-tcp-connections, in all or per source."))
        inflight = registry.makeGauge(descriptor: name("queries_inflight", "", "UDP queries waiting for a verdict or an upstream."))
        countedBacklog = registry.makeGauge(
            descriptor: name("counted_records", "", "Distinct (source, name, type) of allowed queries waiting for the next counted report."))
    }

    func query(_ outcome: Outcome) { queries[outcome]?.increment() }

    public func render() -> String { core.render() }
}
