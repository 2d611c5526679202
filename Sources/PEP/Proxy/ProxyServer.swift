import EnforcerCore
import ConnectionLimits
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle

/// The listeners: transparent (the target of iptables `REDIRECT`) and
/// explicit (HTTP CONNECT). Counts open connections against the cap and, on
/// shutdown, stops accepting and lets open connections finish until the
/// grace period ends, then closes what is left.
public final class ProxyServer: Service, Sendable {
    public struct Settings: Sendable {
        public var transparent: SocketAddress?
        /// The transparent listener is a TPROXY target (see `PEPConfiguration.tproxy`).
        public var tproxy: Bool
        public var connect: SocketAddress?
        /// Plain HTTP, carried out as TLS (the target of a REDIRECT of port 80).
        public var http: SocketAddress?
        /// Workload port to upstream TLS port, for `http`.
        public var httpPortMap: [Int: Int] = [80: 443]
        /// Keep the query string in the paths of HTTP requests' records.
        public var logQuery = false
        public var maxConnections: Int
        public var maxConnectionsPerSource: Int
        public var helloTimeout: TimeAmount
        public var idleTimeout: TimeAmount
        public var shutdownGrace: TimeAmount

        public init(
            transparent: SocketAddress?, tproxy: Bool = false, connect: SocketAddress?, maxConnections: Int, maxConnectionsPerSource: Int? = nil,
            helloTimeout: TimeAmount,
            idleTimeout: TimeAmount, shutdownGrace: TimeAmount
        ) {
            self.transparent = transparent
            self.tproxy = tproxy
            self.connect = connect
            self.maxConnections = maxConnections
            self.maxConnectionsPerSource = min(maxConnections, maxConnectionsPerSource ?? maxConnections)
            self.helloTimeout = helloTimeout
            self.idleTimeout = idleTimeout
            self.shutdownGrace = shutdownGrace
        }
    }

    private let settings: Settings
    private let gate: EgressGate
    /// The TLS client for plain HTTP; nil when nothing listens for it.
    private let origin: OriginUpstream?
    private let reporter: AccessReporter
    private let group: EventLoopGroup
    private let metrics: PEPMetrics?
    private let logger: Logger
    private let open = NIOLockedValueBox<[ObjectIdentifier: Channel]>([:])
    /// The cap and each workload address's share of it.
    private let admission: ConnectionAdmission
    private let bound = NIOLockedValueBox<[SocketAddress]>([])

    public init(
        settings: Settings, gate: EgressGate, reporter: AccessReporter, group: EventLoopGroup, metrics: PEPMetrics?, logger: Logger,
        upstreamCA: String? = nil
    ) throws {
        self.settings = settings
        origin =
            settings.http == nil && settings.connect == nil
            ? nil
            : OriginUpstream(
                tls: try OriginUpstream.context(extraCA: upstreamCA), connectTimeout: gate.settings.connectTimeout, logger: logger)
        admission = ConnectionAdmission(.init(maxConnections: settings.maxConnections, maxPerSource: settings.maxConnectionsPerSource))
        self.gate = gate
        self.reporter = reporter
        self.group = group
        self.metrics = metrics
        self.logger = logger
    }

    /// The addresses the listeners are bound to (port 0 resolved).
    public var boundAddresses: [SocketAddress] { bound.withLockedValue { $0 } }

    public var openConnections: Int { open.withLockedValue { $0.count } }

    public func run() async throws {
        var servers: [Channel] = []
        let tick = DeadlineSweeper.tick(for: [settings.helloTimeout, settings.idleTimeout])
        // One per event loop, made on it: each is used by that loop only.
        var sweepers: [NIOLoopBound<DeadlineSweeper>] = []
        for eventLoop in group.makeIterator() {
            sweepers.append(try await eventLoop.submit { NIOLoopBound(DeadlineSweeper(eventLoop: eventLoop, tick: tick), eventLoop: eventLoop) }.get())
        }
        if let address = settings.transparent {
            servers += try await bindPerEventLoop(address, explicit: false, sweepers: sweepers)
            logger.notice(settings.tproxy ? "listening (transparent, TPROXY)" : "listening (transparent)", metadata: ["address": "\(servers.last?.localAddress.map(ConnectionLedger.text) ?? "?")"])
        }
        if let address = settings.connect {
            servers += try await bindPerEventLoop(address, explicit: true, sweepers: sweepers)
            logger.notice("listening (CONNECT)", metadata: ["address": "\(servers.last?.localAddress.map(ConnectionLedger.text) ?? "?")"])
        }
        if let address = settings.http {
            servers += try await bindPerEventLoop(address, explicit: false, http: true, sweepers: sweepers)
            logger.notice("listening (plain HTTP, carried out as TLS)", metadata: ["address": "\(servers.last?.localAddress.map(ConnectionLedger.text) ?? "?")"])
        }
        bound.withLockedValue { addresses in
            for address in servers.compactMap(\.localAddress) where !addresses.contains(address) { addresses.append(address) }
        }
        try? await gracefulShutdown()
        for server in servers { try? await server.close() }
        let remaining = openConnections
        logger.notice("stopped accepting; waiting for open connections", metadata: ["open": "\(remaining)"])
        let deadline = ContinuousClock.now + .nanoseconds(settings.shutdownGrace.nanoseconds)
        // A plain sleep: cancelled (the group is failing), the wait ends at once.
        while openConnections > 0, ContinuousClock.now < deadline, !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(50))
        }
        let left = open.withLockedValue { Array($0.values) }
        if !left.isEmpty {
            logger.warning("closing connections still open at the end of the grace period", metadata: ["open": "\(left.count)"])
            for channel in left { channel.close(promise: nil) }
            while openConnections > 0, ContinuousClock.now < deadline + .seconds(5) {
                try? await Task.sleep(for: .milliseconds(10))
                if Task.isCancelled { break }
            }
        }
    }

    /// One listening socket per event loop (SO_REUSEPORT), each keeping the
    /// connections it accepts: a connection never changes threads, which
    /// takes a cross-thread hand-off out of every connection's first
    /// round trip. The kernel spreads connections over the sockets.
    private func bindPerEventLoop(
        _ address: SocketAddress, explicit: Bool, http: Bool = false, sweepers: [NIOLoopBound<DeadlineSweeper>]
    ) async throws -> [Channel] {
        var servers: [Channel] = []
        var address = address
        let tproxy = settings.tproxy && !explicit && !http
        for sweeper in sweepers {
            let eventLoop = sweeper.eventLoop
            var bootstrap = ServerBootstrap(group: eventLoop, childGroup: eventLoop)
            if tproxy {
                // Without it the kernel will not hand the listener connections
                // addressed elsewhere. (On an IPv6 socket both options set the
                // same flag; both are set so that either name is in the log of
                // a failure.)
                bootstrap = bootstrap.serverChannelOption(.socket(SocketOptionLevel(IPPROTO_IP), SocketOptionName(Self.ipTransparent)), value: 1)
                if address.protocol == .inet6 {
                    bootstrap = bootstrap.serverChannelOption(
                        .socket(SocketOptionLevel(IPPROTO_IPV6), SocketOptionName(Self.ipv6Transparent)), value: 1)
                }
            }
            let server = try await bootstrap
                .serverChannelOption(.backlog, value: 1024)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .serverChannelOption(.socket(SocketOptionLevel(SOL_SOCKET), SocketOptionName(SO_REUSEPORT)), value: 1)
                // Half-closes are passed through, not turned into full closes.
                .childChannelOption(.allowRemoteHalfClosure, value: true)
                // No TCP_NODELAY per accepted connection: ServerBootstrap sets
                // it on the listening socket, and Linux hands it down to every
                // accepted one. Setting it again cost two system calls per
                // connection (NIO checks the address family with getsockname).
                .childChannelInitializer { [self] channel in
                    accept(channel, explicit: explicit, http: http, sweeper: sweeper)
                }
                .bind(to: address).get()
            // Port 0 picks a port once; the other sockets share it.
            if address.port == 0, let port = server.localAddress?.port { address.port = port }
            servers.append(server)
        }
        return servers
    }

    /// IP_TRANSPARENT and IPV6_TRANSPARENT (linux/in.h, linux/in6.h).
    static let ipTransparent: Int32 = 19
    static let ipv6Transparent: Int32 = 75

    private func accept(_ channel: Channel, explicit: Bool, http: Bool, sweeper: NIOLoopBound<DeadlineSweeper>) -> EventLoopFuture<Void> {
        let sourceIP = channel.remoteAddress.flatMap(SourceAddressText.text) ?? "0.0.0.0"
        let wallMs = wallClockMilliseconds()
        let destination: EventLoopFuture<SocketAddress?>
        if explicit {
            destination = channel.eventLoop.makeSucceededFuture(nil)
        } else if settings.tproxy, !http, let local = channel.localAddress, local.port != settings.transparent?.port {
            // TPROXY leaves the connection as it was: its local address is
            // where the workload was going (an IPv4 one, on a dual-stack
            // listener, as the IPv4 address it is). One addressed to the
            // listener's own port may have come through a REDIRECT rule.
            destination = channel.eventLoop.makeSucceededFuture(Self.unmapped(local))
        } else {
            destination = OriginalDestination.of(channel)
        }
        return destination.flatMapThrowing { [self] original in
            let ledger = ConnectionLedger(
                sourceIP: sourceIP, originalDestination: original ?? (explicit ? nil : channel.localAddress),
                port: (original ?? channel.localAddress)?.port ?? 443, wallClockMs: wallMs)
            if let refusal = admission.admit(sourceIP) {
                ledger.denial = refusal == .sourceShare ? .sourceShare : .capacity
                finish(ledger)
                channel.close(promise: nil)
                return
            }
            open.withLockedValue { $0[ObjectIdentifier(channel)] = channel }
            metrics?.connectionsOpen.increment()
            // The close completes on the channel's event loop, the ledger's.
            let boundLedger = NIOLoopBound(ledger, eventLoop: channel.eventLoop)
            channel.closeFuture.whenComplete { [self] _ in
                admission.release(sourceIP)
                open.withLockedValue { $0[ObjectIdentifier(channel)] = nil }
                metrics?.connectionsOpen.decrement()
                finish(boundLedger.value)
            }
            let sync = channel.pipeline.syncOperations
            let sweeper = sweeper.value
            let makePeek = { [gate, settings] (expected: String?) in
                HelloPeekHandler(
                    ledger: ledger, gate: gate, expectedHost: expected, helloTimeout: settings.helloTimeout,
                    idleTimeout: settings.idleTimeout, sweeper: sweeper)
            }
            if http, let origin {
                try addOrigination(to: sync, ledger: ledger, origin: origin, sweeper: sweeper)
            } else if explicit {
                let decoder = ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .forwardBytes))
                try sync.addHandler(decoder, name: "connect-decoder")
                try sync.addHandler(HTTPResponseEncoder(), name: "connect-encoder")
                try sync.addHandler(
                    ConnectRequestHandler(
                        ledger: ledger, gate: gate, decoderName: "connect-decoder", encoderName: "connect-encoder",
                        requestTimeout: settings.helloTimeout, sweeper: sweeper, makePeek: { makePeek($0) },
                        makeOrigin: origin.map { origin in { [self] in makeOrigin(origin, ledger: ledger, sweeper: sweeper) } }))
            } else {
                try sync.addHandler(makePeek(nil))
            }
        }
    }

    /// Plain HTTP on this connection, carried out as TLS request by request.
    /// The decoder refuses what llhttp cannot frame strictly; the pipeline
    /// handler keeps requests one at a time.
    private func addOrigination(
        to sync: ChannelPipeline.SynchronousOperations, ledger: ConnectionLedger, origin: OriginUpstream, sweeper: DeadlineSweeper
    ) throws {
        // Bytes past an upgrade go to the glue that replaces the HTTP handlers.
        try sync.addHandler(ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .forwardBytes)))
        try sync.addHandler(HTTPResponseEncoder())
        try sync.addHandler(HTTPServerPipelineHandler())
        try sync.addHandler(makeOrigin(origin, ledger: ledger, sweeper: sweeper))
    }

    /// The handler that carries one connection's plain-HTTP requests out as TLS.
    func makeOrigin(_ origin: OriginUpstream, ledger: ConnectionLedger, sweeper: DeadlineSweeper) -> HTTPOriginHandler {
        var settings = HTTPOriginHandler.Settings(portMap: self.settings.httpPortMap, logQuery: self.settings.logQuery)
        settings.headTimeout = self.settings.helloTimeout
        settings.idleTimeout = self.settings.idleTimeout
        return HTTPOriginHandler(gate: gate, origin: origin, settings: settings, connection: ledger, sweeper: sweeper) { [self] record in
            report(record)
        }
    }

    /// `::ffff:a.b.c.d` as `a.b.c.d`, with its port; anything else as it is.
    static func unmapped(_ address: SocketAddress) -> SocketAddress {
        guard address.protocol == .inet6, let ip = address.ipAddress, ip.hasPrefix("::ffff:"), let port = address.port,
            let v4 = try? SocketAddress(ipAddress: String(ip.dropFirst("::ffff:".count)), port: port), v4.protocol == .inet
        else { return address }
        return v4
    }

    private func finish(_ ledger: ConnectionLedger) {
        guard let record = ledger.takeRecord() else { return }
        report(record, denial: ledger.denial)
    }

    /// Counts, reports and (when refused) logs one record.
    private func report(_ record: AccessRecord, denial: DenialReason? = nil) {
        metrics?.connectionHandled(denied: record.allowed ? nil : (denial ?? record.reason.flatMap(DenialReason.init(rawValue:)) ?? .policy))
        reporter.record(record)
        if !record.allowed {
            logger.info(
                "refused",
                metadata: [
                    "source": "\(record.sourceIP)", "host": "\(record.host)", "port": "\(record.port)",
                    "reason": "\(record.reason ?? "policy")", "rule": "\(record.rule ?? "-")",
                ])
        }
    }
}
