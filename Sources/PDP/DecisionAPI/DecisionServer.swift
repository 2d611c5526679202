import ConnectionLimits
import Crypto
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOPosix
import NIOSSL
import Synchronization

/// Where the decision API listens.
public struct DecisionListeners: Sendable {
    public struct TLS: Sendable {
        public var host: String
        public var port: Int
        public var certificate: String
        public var key: String
        /// CA bundle that enforcers' client certificates must chain to.
        public var clientCA: String
        public init(host: String, port: Int, certificate: String, key: String, clientCA: String) {
            self.host = host
            self.port = port
            self.certificate = certificate
            self.key = key
            self.clientCA = clientCA
        }
    }

    /// h2c on TCP (bearer tokens); `nil` to disable.
    public var tcp: (host: String, port: Int)?
    /// h2c on a Unix socket (its file permissions decide who may connect).
    public var unixSocket: String?
    public var tls: TLS?

    public init(tcp: (host: String, port: Int)?, unixSocket: String? = nil, tls: TLS? = nil) {
        self.tcp = tcp
        self.unixSocket = unixSocket
        self.tls = tls
    }
}

/// The decision API: HTTP/2 on SwiftNIO directly, one stream per request.
public final class DecisionServer: Sendable {
    private let engine: DecisionEngine
    private let authenticator: EnforcerAuthenticator
    private let group: MultiThreadedEventLoopGroup
    private let logger: Logger
    private let inFlight = InFlightCounter()
    /// Bytes of request bodies held in memory across all connections, at
    /// most: past it a request is answered 503 instead of growing memory
    /// without end.
    private let budget: BoundedCount
    private let limits: DecisionLimits
    private let admission: ConnectionAdmission
    private let metrics: PDPMetrics
    /// Numbers the Unix socket's connections, each its own source.
    private let unixConnections = Atomic<Int>(0)
    private let listeners = NIOLockedValueBox([Channel]())
    private let connections = NIOLockedValueBox([ObjectIdentifier: Channel]())

    /// Up to 1,000 concurrent streams per connection: enforcers multiplex
    /// every decision over one connection.
    static let settings: [HTTP2Setting] = [
        HTTP2Setting(parameter: .maxConcurrentStreams, value: 1000),
        HTTP2Setting(parameter: .maxHeaderListSize, value: 16 * 1024),
        HTTP2Setting(parameter: .initialWindowSize, value: DecisionConnectionHandler.streamWindow),
    ]

    init(
        engine: DecisionEngine, authenticator: EnforcerAuthenticator, group: MultiThreadedEventLoopGroup, limits: DecisionLimits,
        logger: Logger
    ) {
        self.engine = engine
        self.limits = limits
        budget = BoundedCount(limit: limits.bodyBudget)
        admission = ConnectionAdmission(limits.admission)
        metrics = engine.metrics
        metrics.sampleAtScrape { [budget, admission, metrics] in
            metrics.bodyBytesHeld.set(to: Double(budget.current))
            metrics.decisionConnections.set(to: Double(admission.openConnections))
        }
        self.authenticator = authenticator
        self.group = group
        self.logger = logger
        // Watch streams opened with a token that is revoked end at once.
        authenticator.whenTokensChange { [engine] in engine.watchers.tokensChanged() }
    }

    /// Binds every configured listener; returns the bound addresses.
    public func start(_ config: DecisionListeners) async throws -> [String] {
        var bound: [String] = []
        if let tcp = config.tcp {
            let channel = try await Self.binding("\(tcp.host):\(tcp.port)") {
                try await bootstrap(tls: nil, tcp: true).bind(host: tcp.host, port: tcp.port).get()
            }
            listeners.withLockedValue { $0.append(channel) }
            bound.append("h2c://\(Self.describe(channel.localAddress))")
        }
        if let path = config.unixSocket {
            let channel = try await Self.binding(path) {
                try await bootstrap(tls: nil, tcp: false).bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true).get()
            }
            // Only the owner (and its group) may connect: that is the socket's authentication.
            chmod(path, 0o660)
            listeners.withLockedValue { $0.append(channel) }
            bound.append("h2c+unix://\(path)")
        }
        if let tls = config.tls {
            let context = try Self.tlsContext(tls)
            let channel = try await Self.binding("\(tls.host):\(tls.port)") {
                try await bootstrap(tls: context, tcp: true).bind(host: tls.host, port: tls.port).get()
            }
            listeners.withLockedValue { $0.append(channel) }
            bound.append("h2://\(Self.describe(channel.localAddress))")
        }
        return bound
    }

    /// Names the address in a bind error, which by itself does not.
    private static func binding(_ address: String, _ bind: () async throws -> Channel) async throws -> Channel {
        do {
            return try await bind()
        } catch {
            throw StoreError.io("the decision API cannot listen on \(address): \(error)")
        }
    }

    static func tlsContext(_ tls: DecisionListeners.TLS) throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMFile(tls.certificate).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: tls.key, format: .pem)))
        configuration.certificateVerification = .noHostnameVerification
        configuration.trustRoots = .file(tls.clientCA)
        configuration.applicationProtocols = ["h2"]
        configuration.minimumTLSVersion = .tlsv12
        return try NIOSSLContext(configuration: configuration)
    }

    private func bootstrap(tls: NIOSSLContext?, tcp: Bool) -> ServerBootstrap {
        let engine = engine
        let authenticator = authenticator
        let inFlight = inFlight
        let budget = budget
        let limits = limits
        let admission = admission
        let metrics = metrics
        var bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
        if tcp { bootstrap = bootstrap.childChannelOption(.socketOption(.tcp_nodelay), value: 1) }
        return bootstrap.childChannelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                guard let source = self.admit(channel) else { return }
                let cache = EnforcerAuthenticator.ConnectionCache()
                let connection: EnforcerAuthenticator.Connection
                if let tls {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls))
                    connection = .trusted("tls-client")
                } else {
                    connection = tcp ? .needsToken : .trusted("unix-socket")
                }
                // HTTP/2 frames straight to one handler for the connection:
                // no multiplexer and no channel per stream (see
                // DecisionConnectionHandler).
                // Header blocks are not validated by NIO (about 7% of an event
                // loop's time): the handler reads four fields, checks the
                // pseudo-headers it needs itself (RequestHead), forwards
                // nothing and echoes nothing unescaped, so a malformed field
                // can only earn a 4xx. Content lengths are still checked.
                let http2 = NIOHTTP2Handler(
                    mode: .server, initialSettings: Self.settings, headerBlockValidation: .disabled)
                try channel.pipeline.syncOperations.addHandler(http2)
                // Over TLS the handler renames the enforcer by its certificate
                // at the first request, once the handshake is done.
                try channel.pipeline.syncOperations.addHandler(
                    DecisionConnectionHandler(
                        engine: engine, authenticator: authenticator, connection: connection, cache: cache, inFlight: inFlight, budget: budget,
                        limits: limits, admission: admission, source: source, metrics: metrics,
                        certificateName: tls == nil ? nil : { channel in
                            (try? channel.pipeline.syncOperations.handler(type: NIOSSLServerHandler.self))?.peerCertificate
                                .map(Self.certificateName)
                        }))
            }
        }
    }

    /// Admits a new connection and returns its source, or closes it at once
    /// and returns nil.
    private func admit(_ channel: Channel) -> String? {
        // Over the cap, the source's share or a reset penalty: closed at
        // once, before anything is read. A Unix socket's clients are local
        // processes its file permissions let in: each connection is its own
        // source, so that one of them cannot use up the others' share.
        let source = channel.remoteAddress?.ipAddress ?? "unix-socket/\(unixConnections.add(1, ordering: .relaxed).newValue)"
        if let refusal = admission.admit(source) {
            metrics.connectionsRefused[refusal]?.increment()
            logger.debug("connection refused", metadata: ["source": "\(source)", "reason": "\(refusal.rawValue)"])
            channel.close(promise: nil)
            return nil
        }
        let id = ObjectIdentifier(channel)
        connections.withLockedValue { $0[id] = channel }
        channel.closeFuture.whenComplete { [admission, connections] _ in
            admission.release(source)
            _ = connections.withLockedValue { $0.removeValue(forKey: id) }
        }
        return source
    }

    /// An enforcer that authenticated with a client certificate is named by
    /// the certificate's SHA-256 fingerprint (its first 16 hex digits).
    static func certificateName(_ certificate: NIOSSLCertificate) -> String {
        guard let der = try? certificate.toDERBytes() else { return "tls-client" }
        return "cert:" + Hex.encode(SHA256.hash(data: der).prefix(8))
    }

    /// Stops accepting, lets accepted requests finish (up to `deadline`),
    /// then closes every connection.
    public func shutdown(deadline: Duration = .seconds(10)) async {
        for channel in listeners.withLockedValue({ $0 }) { try? await channel.close() }
        let open = connections.withLockedValue { Array($0.values) }
        for channel in open {
            // GOAWAY: the peer opens no new streams here and goes elsewhere.
            let goAway = HTTP2Frame(streamID: .rootStream, payload: .goAway(lastStreamID: .maxID, errorCode: .noError, opaqueData: nil))
            channel.writeAndFlush(goAway, promise: nil)
        }
        let clock = ContinuousClock()
        let end = clock.now + deadline
        while inFlight.value > 0, clock.now < end { try? await Task.sleep(for: .milliseconds(10)) }
        for channel in connections.withLockedValue({ Array($0.values) }) { try? await channel.close() }
        logger.info("decision API stopped")
    }

    static func describe(_ address: SocketAddress?) -> String {
        guard let address, let ip = address.ipAddress, let port = address.port else { return "?" }
        return ip.contains(":") ? "[\(ip)]:\(port)" : "\(ip):\(port)"
    }
}
