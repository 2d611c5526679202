import EnforcerCore
import Prometheus

/// The enforcer's Prometheus metrics, served at the admin listener's
/// `/metrics`: what every enforcer counts (`core`), and the connections of
/// this one.
public final class PEPMetrics: Sendable {
    public let core: EnforcerMetrics
    public var registry: PrometheusCollectorRegistry { core.registry }
    let connectionsOpen: Gauge
    private let connectionsAllowed: Counter
    private let deniedByReason: [DenialReason: Counter]

    public init() {
        core = EnforcerMetrics(subsystem: "pep")
        let registry = core.registry
        func name(_ metric: String, _ unit: String = "", _ help: String) -> MetricNameDescriptor {
            MetricNameDescriptor(namespace: "egress", subsystem: "pep", metricName: metric, unitName: unit, helpText: help)
        }
        connectionsOpen = registry.makeGauge(descriptor: name("connections_open", "", "Workload connections open now."))
        let connections = name("connections", "total", "Workload connections handled, by verdict and denial reason.")
        connectionsAllowed = registry.makeCounter(descriptor: connections, labels: [("verdict", "allow"), ("reason", "")])
        var denied: [DenialReason: Counter] = [:]
        for reason in DenialReason.allCases {
            denied[reason] = registry.makeCounter(descriptor: connections, labels: [("verdict", "deny"), ("reason", reason.rawValue)])
        }
        deniedByReason = denied
    }

    func connectionHandled(denied reason: DenialReason?) {
        if let reason { deniedByReason[reason]?.increment() } else { connectionsAllowed.increment() }
    }

    public func render() -> String { core.render() }
}
