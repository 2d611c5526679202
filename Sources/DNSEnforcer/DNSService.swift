import EnforcerCore
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import ServiceLifecycle

/// The whole DNS enforcer: the connection to the decision service, the
/// verdict cache and its watch, the listeners, the query ledger and the
/// access reporter, and the admin listener (`/metrics`, `/healthz`,
/// `/readyz`), stopped in order on SIGTERM or SIGINT: admin, listeners,
/// watch, ledger (which hands its last counts on), reporter (which sends
/// what is left).
public final class DNSService: Sendable {
    public let configuration: DNSConfiguration
    public let metrics = DNSMetrics()
    let logger: Logger
    let group: MultiThreadedEventLoopGroup

    public init(configuration: DNSConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, configuration.eventLoopThreads ?? System.coreCount))
    }

    public func run() async throws {
        let c = configuration
        let pdp = PDPClient(endpoint: c.pdp.endpoint, token: c.pdp.token, tls: try c.pdp.tlsContext(), group: group, logger: logger)
        let decisions = DecisionClient(pdp: pdp)
        let cache = VerdictCache(capacity: c.cacheSize, staleMaxAge: c.staleMaxAge, metrics: metrics.core) { key in
            try await decisions.decide(key)
        }
        let reporter = AccessReporter(pdp: pdp, metrics: metrics.core, logger: logger, capacity: c.reportBuffer)
        let ledger = QueryLedger(
            reporter: reporter, interval: .nanoseconds(c.countInterval.nanoseconds), metrics: metrics)
        let watch = WatchFollower(pdp: pdp, cache: cache, metrics: metrics.core, logger: logger)
        let answerer = QueryAnswerer(
            screen: QueryScreen(internalZones: c.internalZones, refusedTypes: c.refusedTypes),
            settings: .init(refusal: c.refusal, stripECH: c.stripECH, queryTimeout: c.queryTimeout),
            cache: cache, ledger: ledger, metrics: metrics, logger: logger)
        let server = DNSServer(
            settings: .init(
                listen: c.listen, upstreams: c.upstreams, upstreamTimeout: c.upstreamTimeout, maxInflight: c.maxInflight,
                maxInflightPerSource: c.maxInflightPerSource,
                tcpLimits: .init(maxConnections: c.maxTCPConnections, maxPerSource: c.maxTCPConnectionsPerSource),
                tcpIdleTimeout: c.tcpIdleTimeout),
            answerer: answerer, group: group, logger: logger)
        let metrics = self.metrics
        let admin = EnforcerAdmin.application(
            host: c.adminHost, port: c.adminPort, group: group, logger: logger,
            isReady: { !server.boundAddresses.isEmpty && watch.isFollowing }, metrics: { metrics.render() })

        var services: [any Service] = [reporter, ledger, watch, server, admin]
        if let file = c.pdp.tokenFile {
            services.append(TokenFileWatcher(path: file, pdp: pdp, logger: logger))
        }
        let serviceGroup = ServiceGroup(
            configuration: .init(
                services: services.map { .init(service: $0) }, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await serviceGroup.run()
        await pdp.close()
        try await group.shutdownGracefully()
        logger.notice("stopped")
    }
}
