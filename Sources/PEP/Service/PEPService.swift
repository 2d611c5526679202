import EnforcerCore
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL
import ServiceLifecycle

/// The whole enforcer: the connection to the decision service, the verdict
/// cache and its watch, the proxy listeners, the connection reporter and the
/// admin listener (`/metrics`, `/healthz`, `/readyz`), stopped in order on
/// SIGTERM or SIGINT: admin, then the proxy with its grace period, then the
/// watch, then the reporter, which sends what is left.
public final class PEPService: Sendable {
    public let configuration: PEPConfiguration
    public let metrics = PEPMetrics()
    let logger: Logger
    let group: MultiThreadedEventLoopGroup
    let pool: NIOThreadPool

    public init(configuration: PEPConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        group =
            configuration.pinEventLoops
            ? CPUAffinity.pinnedGroup(threads: configuration.eventLoopThreads, logger: logger)
            : MultiThreadedEventLoopGroup(numberOfThreads: max(1, configuration.eventLoopThreads ?? System.coreCount))
        pool = NIOThreadPool(numberOfThreads: 4)
    }

    public func run() async throws {
        pool.start()
        let pdp = PDPClient(
            endpoint: configuration.pdp.endpoint, token: configuration.pdp.token, tls: try configuration.pdp.tlsContext(), group: group,
            logger: logger)
        let decisions = DecisionClient(pdp: pdp)
        let cache = VerdictCache(capacity: configuration.cacheSize, staleMaxAge: configuration.staleMaxAge, metrics: metrics.core) { key in
            try await decisions.decide(key)
        }
        let ranges = internalRanges()
        let gate = EgressGate(
            cache: cache, resolver: NameResolver(pool: pool, cacheTTL: configuration.dnsCacheTTL, timeout: configuration.dnsTimeout),
            settings: .init(internalRanges: ranges, refuseECH: configuration.refuseECH, connectTimeout: configuration.connectTimeout),
            metrics: metrics, logger: logger)
        let reporter = AccessReporter(pdp: pdp, metrics: metrics.core, logger: logger, capacity: configuration.reportBuffer)
        let watch = WatchFollower(pdp: pdp, cache: cache, metrics: metrics.core, logger: logger)
        var settings = ProxyServer.Settings(
            transparent: configuration.transparent, tproxy: configuration.tproxy, connect: configuration.connect,
            maxConnections: configuration.maxConnections, maxConnectionsPerSource: configuration.maxConnectionsPerSource,
            helloTimeout: configuration.helloTimeout,
            idleTimeout: configuration.idleTimeout, shutdownGrace: configuration.shutdownGrace)
        settings.http = configuration.http
        settings.httpPortMap = configuration.httpPortMap
        settings.logQuery = configuration.logQuery
        let proxy = try ProxyServer(
            settings: settings, gate: gate, reporter: reporter, group: group, metrics: metrics, logger: logger,
            upstreamCA: configuration.upstreamCA)

        let metrics = self.metrics
        let admin = EnforcerAdmin.application(
            host: configuration.adminHost, port: configuration.adminPort, group: group, logger: logger,
            isReady: { !proxy.boundAddresses.isEmpty && watch.isFollowing }, metrics: { metrics.render() })

        var services: [any Service] = [reporter, watch, proxy, admin]
        if let file = configuration.pdp.tokenFile {
            services.append(TokenFileWatcher(path: file, pdp: pdp, logger: logger))
        }
        let serviceGroup = ServiceGroup(
            configuration: .init(
                services: services.map { .init(service: $0) }, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await serviceGroup.run()
        await pdp.close()
        try await group.shutdownGracefully()
        try await pool.shutdownGracefully()
        logger.notice("stopped")
    }

    /// The ranges no upstream may be in: the configured ones, the gateway's
    /// own addresses, and their NAT64 forms.
    private func internalRanges() -> [AddressRange] {
        var ranges = configuration.internalRanges
        if configuration.includeOwnAddresses {
            // The gateway's own addresses: a name pointing at them would lead inward.
            for device in (try? System.enumerateDevices()) ?? [] {
                if let address = device.address, let own = AddressRange(exactly: address) {
                    if !ranges.contains(own) { ranges.append(own) }
                }
            }
        }
        // On an IPv6-only network whose NAT64 uses its own prefix, a name whose
        // record is that prefix plus an internal IPv4 address leads inward.
        for prefix in configuration.nat64Prefixes {
            for range in ranges {
                if let form = range.nat64Form(prefix: prefix), !ranges.contains(form) { ranges.append(form) }
            }
        }
        logger.info("internal ranges (refused as upstreams)", metadata: ["ranges": "\(ranges.map(\.description).joined(separator: ", "))"])
        return ranges
    }
}
