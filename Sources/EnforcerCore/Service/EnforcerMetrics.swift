import Prometheus

/// What every enforcer counts, whatever it enforces: verdict lookups, the
/// watch stream, connection reports, time to a verdict. Registered in the
/// enforcer's own registry under its own subsystem (`egress_pep_...`), beside
/// the metrics of what it enforces.
public final class EnforcerMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    let cacheHits: Counter
    let cacheMisses: Counter
    let cacheStale: Counter
    let cacheEvictions: Counter
    let cacheInvalidations: Counter
    let cacheDropped: Counter
    let watchEvents: Counter
    let accessSent: Counter
    let accessDropped: Counter
    let accessBacklog: Gauge
    public let decisionLatency: DurationHistogram

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry(), subsystem: String = "pep") {
        self.registry = registry
        func name(_ metric: String, _ unit: String = "", _ help: String) -> MetricNameDescriptor {
            MetricNameDescriptor(namespace: "egress", subsystem: subsystem, metricName: metric, unitName: unit, helpText: help)
        }
        let cache = name("verdict_cache", "total", "Verdict lookups by result: hit, miss (asked the decision service), stale.")
        cacheHits = registry.makeCounter(descriptor: cache, labels: [("result", "hit")])
        cacheMisses = registry.makeCounter(descriptor: cache, labels: [("result", "miss")])
        cacheStale = registry.makeCounter(descriptor: cache, labels: [("result", "stale")])
        cacheEvictions = registry.makeCounter(descriptor: name("verdict_cache_evictions", "total", "Verdicts evicted to stay within --cache-size."))
        cacheInvalidations = registry.makeCounter(
            descriptor: name("verdict_cache_invalidations", "total", "Times the cache was emptied on a watch event."))
        cacheDropped = registry.makeCounter(descriptor: name("verdict_cache_dropped", "total", "Verdicts dropped by invalidations."))
        watchEvents = registry.makeCounter(descriptor: name("watch_events", "total", "Events read from the decision service's watch stream."))
        accessSent = registry.makeCounter(descriptor: name("access_records_sent", "total", "Connection records the decision service acknowledged."))
        accessDropped = registry.makeCounter(
            descriptor: name("access_records_dropped", "total", "Connection records dropped because the report buffer was full."))
        accessBacklog = registry.makeGauge(descriptor: name("access_backlog", "", "Connection records waiting to be reported."))
        decisionLatency = registry.makeDurationHistogram(
            descriptor: name("decision_duration", "seconds", "Time to a verdict for a connection, cache hits included."),
            buckets: [.microseconds(10), .microseconds(50), .microseconds(100), .microseconds(500), .milliseconds(1),
                      .milliseconds(5), .milliseconds(25), .milliseconds(100), .seconds(1)])
    }

    public func render() -> String { registry.emitToString() }
}
