import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHPACK
import NIOHTTP2
import NIOPosix
import NIOSSL

/// The enforcer's one HTTP/2 connection to the decision service. Every
/// request is a stream on it; when it drops, the next request reconnects.
/// Failed connects back off (0.1 s doubling to 5 s): while backing off,
/// requests fail at once rather than queue, so the proxy fails closed (or
/// serves a stale verdict) without waiting.
public final class PDPClient: Sendable {
    public struct Response: Sendable {
        public let status: Int
        public let body: ByteBuffer
    }

    /// The service could not be asked: not connected, or the request failed on the way.
    public struct Unavailable: Error, CustomStringConvertible {
        public let description: String
    }

    /// The service refused this enforcer's TLS client certificate (a TLS
    /// alert): an answer, not an outage, so no stale verdict stands in.
    public struct Rejected: DecisionServiceAnswer, CustomStringConvertible {
        public let description: String
        public var isRefusal: Bool { true }
    }

    struct Connection: Sendable {
        let channel: Channel
        let multiplexer: NIOHTTP2Handler.AsyncStreamMultiplexer<Void>
        /// Set when the service ended the TLS session with an alert.
        let tlsRefusal: TLSRefusal
    }

    private typealias State = PDPConnectionState<Connection, EventLoopFuture<Connection>>

    public let endpoint: PDPEndpoint
    /// Replaced when the token file changes (`TokenFileWatcher`).
    private let token: NIOLockedValueBox<String?>
    private let tls: NIOSSLContext?
    private let group: EventLoopGroup
    private let logger: Logger
    private let requestTimeout: TimeAmount
    /// A ping every `interval`; the connection is closed when nothing comes
    /// back within `timeout` of one (see `PingKeepalive`).
    private let keepalive: (interval: TimeAmount, timeout: TimeAmount)
    private let state = NIOLockedValueBox(State())
    /// Timed-out requests are logged at most every 10 s.
    private let timeoutLog = LogThrottle()

    public init(
        endpoint: PDPEndpoint, token: String?, tls: NIOSSLContext?, group: EventLoopGroup, logger: Logger,
        requestTimeout: TimeAmount = .seconds(2),
        keepalive: (interval: TimeAmount, timeout: TimeAmount) = (.seconds(10), .seconds(10))
    ) {
        self.endpoint = endpoint
        self.token = NIOLockedValueBox(token)
        self.tls = tls
        self.group = group
        self.logger = logger
        self.requestTimeout = requestTimeout
        self.keepalive = keepalive
    }

    /// Whether a connection to the service is open (it may still be silent).
    public var isConnected: Bool { state.withLockedValue { $0.connection != nil } }

    /// Sends one request and collects the whole answer.
    /// `timeout`: the request's own limit instead of the client's default
    /// (a large report takes longer to commit than a decision).
    public func send(method: String, path: String, body: ByteBuffer?, timeout: TimeAmount? = nil) async throws -> Response {
        let connection = try await connection()
        let stream: NIOAsyncChannel<HTTP2Frame.FramePayload, HTTP2Frame.FramePayload>
        do {
            stream = try await openStream(on: connection)
        } catch {
            // The connection is handed out before its TLS handshake ends: an
            // alert may have closed it already.
            try connection.tlsRefusal.throwIfRefused(path)
            throw Unavailable(description: "cannot open a stream to \(endpoint): \(error)")
        }
        // How far the request got, for the log when it times out. "queued":
        // handed to the stream, not necessarily on the wire (TLS holds data
        // until its handshake ends).
        let progress = NIOLockedValueBox("queueing the request")
        let timer = stream.channel.eventLoop.scheduleTask(in: timeout ?? requestTimeout) { [self, channel = stream.channel] in
            timedOut(path: path, progress: progress.withLockedValue { $0 }, stream: channel, connection: connection)
        }
        defer { timer.cancel() }
        do {
            return try await exchange(on: stream, method: method, path: path, body: body, progress: progress)
        } catch {
            // Cancelled (the caller stopped waiting, the service is shutting
            // down): said as such, not as a service that cannot be reached,
            // whatever error the stream ended with.
            if Task.isCancelled { throw CancellationError() }
            try connection.tlsRefusal.throwIfRefused(path)
            if let error = error as? Unavailable { throw error }
            throw Unavailable(description: "\(path): \(error)")
        }
    }

    private func openStream(on connection: Connection) async throws -> NIOAsyncChannel<HTTP2Frame.FramePayload, HTTP2Frame.FramePayload> {
        try await connection.multiplexer.openStream { channel in
            channel.eventLoop.makeCompletedFuture {
                try NIOAsyncChannel<HTTP2Frame.FramePayload, HTTP2Frame.FramePayload>(wrappingChannelSynchronously: channel)
            }
        }
    }

    /// Writes the request and reads its answer, to the end of the stream.
    private func exchange(
        on stream: NIOAsyncChannel<HTTP2Frame.FramePayload, HTTP2Frame.FramePayload>, method: String, path: String,
        body: ByteBuffer?, progress: NIOLockedValueBox<String>
    ) async throws -> Response {
        try await stream.executeThenClose { inbound, outbound in
            try await outbound.write(.headers(.init(headers: headers(method: method, path: path), endStream: body == nil)))
            if let body {
                try await outbound.write(.data(.init(data: .byteBuffer(body), endStream: true)))
            }
            progress.withLockedValue { $0 = "request queued, no answer yet" }
            var status = 0
            var collected = ByteBuffer()
            for try await payload in inbound {
                progress.withLockedValue { $0 = "reading the answer" }
                switch payload {
                case .headers(let h):
                    if let s = h.headers.first(name: ":status").flatMap({ Int($0) }) { status = s }
                    if h.endStream { return answered(Response(status: status, body: collected)) }
                case .data(let d):
                    if case .byteBuffer(var bytes) = d.data { collected.writeBuffer(&bytes) }
                    if d.endStream { return answered(Response(status: status, body: collected)) }
                case .rstStream(let code):
                    throw Unavailable(description: "\(path): the stream was reset (\(code))")
                default:
                    continue
                }
            }
            throw Unavailable(description: "\(path): the stream ended without an answer (timeout or disconnect)")
        }
    }

    /// A request took too long: its stream is closed, which ends its read;
    /// after `maxSilentRequests` in a row the connection is dropped too.
    private func timedOut(path: String, progress: String, stream: Channel, connection: Connection) {
        if let heldBack = timeoutLog.admit("timeout") {
            logger.warning(
                "a request to the decision service got no answer in time",
                metadata: ["pdp": "\(endpoint)", "path": "\(path)", "progress": "\(progress)", "held_back": "\(heldBack)"])
        }
        stream.close(promise: nil)
        if state.withLockedValue({ $0.requestTimedOut() }) {
            logger.warning("the decision service does not answer; reconnecting", metadata: ["pdp": "\(endpoint)"])
            connection.channel.close(promise: nil)
        }
    }

    /// Opens a long-lived GET stream and hands each chunk of its body to
    /// `chunk` until the stream ends; throws when it cannot be opened or fails.
    /// `chunk` may end the stream by throwing.
    public func follow(path: String, chunk: @Sendable (ByteBuffer) async throws -> Void) async throws -> Int {
        let stream = try await openStream(on: try await connection())
        return try await stream.executeThenClose { inbound, outbound in
            try await outbound.write(.headers(.init(headers: headers(method: "GET", path: path), endStream: true)))
            var status = 0
            for try await payload in inbound {
                switch payload {
                case .headers(let h):
                    if let s = h.headers.first(name: ":status").flatMap({ Int($0) }) { status = s }
                    if h.endStream { return status }
                case .data(let d):
                    if case .byteBuffer(let bytes) = d.data, status == 200 { try await chunk(bytes) }
                    if d.endStream { return status }
                default:
                    continue
                }
            }
            return status
        }
    }

    private func answered(_ response: Response) -> Response {
        state.withLockedValue { $0.answered() }
        return response
    }

    private func headers(method: String, path: String) -> HPACKHeaders {
        var headers: HPACKHeaders = [
            ":method": method, ":path": path, ":scheme": endpoint.scheme, ":authority": endpoint.authority,
        ]
        if method != "GET" { headers.add(name: "content-type", value: "application/json") }
        if let token = token.withLockedValue({ $0 }) { headers.add(name: "authorization", value: "Bearer \(token)") }
        return headers
    }

    /// The bearer token for requests from now on.
    public var currentToken: String? {
        get { token.withLockedValue { $0 } }
        set { token.withLockedValue { $0 = newValue } }
    }

    /// The open connection, or a new one (one connect at a time, however
    /// many requests are waiting for it).
    private func connection() async throws -> Connection {
        enum Next {
            case ready(Connection)
            case wait(EventLoopFuture<Connection>, started: Bool)
        }
        let next: Next = try state.withLockedValue { state in
            switch state.next(now: .now(), isOpen: { $0.channel.isActive }) {
            case .ready(let connection):
                return .ready(connection)
            case .join(let future):
                return .wait(future, started: false)
            case .backingOff(let error):
                throw Unavailable(description: error)
            case .connect:
                let future = connect()
                state.connecting(future)
                return .wait(future, started: true)
            }
        }
        switch next {
        case .ready(let connection):
            return connection
        case .wait(let future, let started):
            if started { watch(future) }
            do {
                return try await future.get()
            } catch {
                throw Unavailable(description: "cannot reach the decision service at \(endpoint): \(error)")
            }
        }
    }

    private func watch(_ future: EventLoopFuture<Connection>) {
        future.whenComplete { [self] result in
            switch result {
            case .success(let connection):
                state.withLockedValue { $0.connected(connection) }
                logger.info("connected to the decision service", metadata: ["pdp": "\(endpoint)"])
                connection.channel.closeFuture.whenComplete { [self] _ in
                    state.withLockedValue { $0.closed(isThis: { $0.channel === connection.channel }) }
                    logger.warning("the connection to the decision service closed", metadata: ["pdp": "\(endpoint)"])
                }
            case .failure(let error):
                let delay = state.withLockedValue {
                    $0.connectFailed("cannot reach the decision service at \(endpoint) (retrying): \(error)", now: .now())
                }
                logger.warning(
                    "cannot reach the decision service",
                    metadata: ["pdp": "\(endpoint)", "error": "\(error)", "retry_in_ms": "\(delay.nanoseconds / 1_000_000)"])
            }
        }
    }

    /// Connects with the whole pipeline (TLS, HTTP/2, keepalive) in place
    /// before the socket reads anything. Adding HTTP/2 once the connect had
    /// completed raced the service's preface: when its SETTINGS came in
    /// first, they were read by a pipeline without the HTTP/2 handler and
    /// dropped, the handler saw the ACK as the first frame, and the answer to
    /// the first request was lost (about one fresh connection in a hundred).
    private func connect() -> EventLoopFuture<Connection> {
        let tls = self.tls
        let endpoint = self.endpoint
        let keepalive = self.keepalive
        let logger = self.logger
        let group = self.group
        let initializer: @Sendable (Channel) -> EventLoopFuture<Connection> = { channel in
            channel.eventLoop.makeCompletedFuture {
                let sync = channel.pipeline.syncOperations
                let tlsRefusal = TLSRefusal()
                if let tls, case .h2(let host, _) = endpoint {
                    try sync.addHandler(
                        NIOSSLClientHandler(context: tls, serverHostname: (try? SocketAddress(ipAddress: host, port: 0)) == nil ? host : nil))
                    try sync.addHandler(tlsRefusal.recorder())
                }
                let multiplexer = try sync.configureAsyncHTTP2Pipeline(mode: .client) { stream in
                    // The service never opens streams; refuse any it might.
                    stream.close()
                }
                try sync.addHandler(PingKeepalive(interval: keepalive.interval, timeout: keepalive.timeout, logger: logger))
                return Connection(channel: channel, multiplexer: multiplexer, tlsRefusal: tlsRefusal)
            }
        }
        let promise = group.next().makePromise(of: Connection.self)
        promise.completeWithTask {
            let bootstrap = ClientBootstrap(group: group)
                .connectTimeout(.seconds(2))
                .channelOption(.socketOption(.so_keepalive), value: 1)
            switch endpoint {
            case .h2c(let host, let port), .h2(let host, let port):
                return try await bootstrap.connect(host: host, port: port, channelInitializer: initializer)
            case .unix(let path):
                return try await bootstrap.connect(unixDomainSocketPath: path, channelInitializer: initializer)
            }
        }
        return promise.futureResult
    }

    /// TLS for an `h2://` endpoint: ALPN h2, the service's CA (the system's
    /// roots when nil) and this enforcer's client certificate, all PEM files.
    public static func tlsContext(ca: String?, certificate: String?, key: String?) throws -> NIOSSLContext {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.applicationProtocols = ["h2"]
        if let ca {
            tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(ca))
        }
        if let certificate, let key {
            tls.certificateChain = try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) }
            tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
        }
        return try NIOSSLContext(configuration: tls)
    }

    /// Closes the connection now; the next request connects again. For a
    /// connection that stays open but answers nothing (a watch with no hello).
    public func dropConnection() {
        takeConnection()?.channel.close(promise: nil)
    }

    /// Closes the connection (at shutdown).
    public func close() async {
        try? await takeConnection()?.channel.close()
    }

    private func takeConnection() -> Connection? {
        state.withLockedValue { $0.take() }
    }
}
