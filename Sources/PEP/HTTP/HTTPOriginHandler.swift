import EnforcerCore
import NIOCore
import NIOHTTP1

/// Plain HTTP from a workload, carried out only as verified TLS: each
/// request's head is screened (`HTTPRequestScreen`), its host decided for
/// this source on the TLS port (`EgressGate`, as for a ClientHello), and on
/// allow sent on a TLS connection the enforcer opened itself
/// (`OriginUpstream`). The connection keeps its first host: a request for
/// another gets 421 and the connection closes. Refusals are answered with a
/// status and a short body naming the reason, and each request is one
/// access record. `HTTPServerPipelineHandler` before it keeps requests one
/// at a time.
final class HTTPOriginHandler: ChannelInboundHandler, RemovableChannelHandler, SweptHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    struct Settings: Sendable {
        /// Workload port to upstream TLS port (80 to 443 by default).
        var portMap: [Int: Int] = [80: 443]
        var logQuery = false
        /// Body bytes held while a request waits for its verdict and upstream.
        var maxPendingBytes = 1 << 20
        /// How long a request head may take to arrive, from the connection's
        /// start or the end of the last answer (a slow or idle client).
        var headTimeout: TimeAmount = .seconds(10)
        /// How long a request in flight may see nothing move either way.
        var idleTimeout: TimeAmount = .seconds(300)
    }

    private let gate: EgressGate
    private let origin: OriginUpstream
    private let settings: Settings
    private let connection: ConnectionLedger
    private let report: (AccessRecord) -> Void
    private var context: ChannelHandlerContext?
    private let sweeper: DeadlineSweeper
    var sweepIndex: Int?
    /// When the head of the next request is due (between requests), or
    /// when the one in flight last moved.
    private var lastActivity = NIODeadline.now()

    private var upstream: Channel?
    /// The host this connection carries requests for, from its first
    /// allowed request on; kept when the upstream closes between requests
    /// (a new one is opened for the same host), so that a workload cannot
    /// switch hosts by waiting for the origin to hang up.
    private var connectionHost: String?
    /// The upstream's address as records write it, made once per upstream.
    private var upstreamText: String?
    /// The request in flight, and its parts held until it may go.
    private var request: HTTPExchange?
    private var pending: [HTTPClientRequestPart] = []
    private var pendingBytes = 0
    private var forwarding = false
    /// An answer was given that ends the connection: what else arrives is dropped.
    private var closing = false
    /// The upstream agreed to the request's `Upgrade` (101): once the
    /// answer's head is out, both connections carry bytes as they are.
    private var upgrading = false
    private var upgradeAsked: String?
    /// The upstream's answer in progress ends its connection (`Connection: close`).
    private var upstreamEnding = false
    /// The workload closed its side while its request was in flight.
    private var inputClosed = false
    /// Reading from the workload is paused (`pauseReading`).
    private var paused = false

    init(
        gate: EgressGate, origin: OriginUpstream, settings: Settings, connection: ConnectionLedger, sweeper: DeadlineSweeper,
        report: @escaping (AccessRecord) -> Void
    ) {
        self.sweeper = sweeper
        self.gate = gate
        self.origin = origin
        self.settings = settings
        self.connection = connection
        self.report = report
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        lastActivity = context.eventLoop.now
        sweeper.add(self)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        sweeper.remove(self)
        upstream?.close(promise: nil)
    }

    /// Closes a connection whose next request head is late, or whose
    /// request in flight stopped moving; a request cut so is recorded.
    func sweep(now: NIODeadline) -> Bool {
        guard let context, !closing else { return false }
        let limit = request == nil ? settings.headTimeout : settings.idleTimeout
        guard now - lastActivity > limit else { return true }
        closing = true
        if request != nil {
            finishRequest(reason: forwarding ? .idleTimeout : .helloTimeout)
        } else if connection.requests == 0 {
            connection.denial = .helloTimeout
        }
        context.close(promise: nil)
        return false
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closing else { return }
        lastActivity = context.eventLoop.now
        switch unwrapInboundIn(data) {
        case .head(let head):
            begin(head, context: context)
        case .body(let body):
            request?.bytesUp += Int64(body.readableBytes)
            send(.body(.byteBuffer(body)), context: context)
        case .end(let trailers):
            send(.end(trailers), context: context)
        }
    }

    private func begin(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        var exchange = HTTPExchange(head: head, sourceIP: connection.sourceIP, logQuery: settings.logQuery)
        request = exchange
        switch HTTPRequestScreen.screen(head) {
        case .refuse(let why):
            return refuse(.badRequest, reason: .badRequest, "request refused: \(why)\n", context: context)
        case .forward(let host, let port):
            exchange.host = host
            let asked = port ?? connection.originalDestination?.port ?? 80
            guard let tlsPort = settings.portMap[asked] else {
                request = exchange
                return refuse(.badRequest, reason: .badRequest, "no TLS port is mapped for port \(asked)\n", context: context)
            }
            exchange.port = tlsPort
            request = exchange
            if let current = connectionHost, current != host {
                return refuse(
                    .misdirectedRequest, reason: .misdirected, "this connection is for \(current); open another for \(host)\n",
                    context: context)
            }
        }
        var outgoing = head
        outgoing.uri = HTTPRequestScreen.originForm(head.uri)
        Self.dropHopByHop(&outgoing.headers)
        // An upgrade (WebSocket) is asked of the upstream as the workload asked it.
        upgradeAsked = Self.upgrade(asked: head.headers)
        if let upgrade = upgradeAsked {
            outgoing.headers.add(name: "upgrade", value: upgrade)
            outgoing.headers.add(name: "connection", value: "upgrade")
        }
        pending = [.head(outgoing)]
        pendingBytes = 0
        forwarding = false
        decide(exchange, context: context)
    }

    /// Every request is decided (a cache hit after the first, usually).
    private func decide(_ exchange: HTTPExchange, context: ChannelHandlerContext) {
        let intent = EgressIntent(sourceIP: connection.sourceIP, host: exchange.host, port: exchange.port, transport: .http)
        // On an open upstream only the verdict is needed: its addresses were checked when it opened.
        if upstream != nil, let verdict = gate.cache.cachedVerdict(for: intent.verdictKey) {
            var outcome = EgressGate.Outcome(host: intent.host, verdict: verdict, origin: .hit)
            if !verdict.allow { outcome.denial = .policy }
            return decided(outcome, context: context)
        }
        if let outcome = gate.admitNow(intent) { return decided(outcome, context: context) }
        // Waiting for the decision service or the resolver: read nothing more meanwhile.
        pauseReading(context)
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        context.eventLoop.makeFutureWithTask { [gate] in await gate.admit(intent) }.whenSuccess { outcome in
            let (handler, context) = bound.value
            handler.decided(outcome, context: context)
        }
    }

    private func decided(_ outcome: EgressGate.Outcome, context: ChannelHandlerContext) {
        guard self.context != nil, var exchange = request else { return }
        exchange.verdict = outcome.verdict
        exchange.origin = outcome.origin
        request = exchange
        if let denial = outcome.denial {
            return refuse(denial, host: outcome.host, context: context)
        }
        if upstream != nil { return startForwarding(context: context) }
        pauseReading(context)
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let sink = NIOLoopBound(self, eventLoop: context.eventLoop)
        let channel = context.channel
        origin.open(outcome.addresses[...], host: outcome.host, on: context.eventLoop, while: { channel.isActive }) {
            UpstreamResponseHandler(sink: sink)
        }.whenComplete { result in
            let (handler, context) = bound.value
            switch result {
            case .success(let (channel, address)):
                guard handler.context != nil else { return channel.close(promise: nil) }
                handler.upstream = channel
                handler.connectionHost = outcome.host
                handler.upstreamText = ConnectionLedger.text(address)
                channel.closeFuture.whenComplete { _ in sink.value.upstreamClosed(channel) }
                handler.startForwarding(context: context)
            case .failure(let error):
                let failure = error as? OriginUpstream.Failure
                let reason: DenialReason = failure?.stage == "tls" ? .upstreamTLS : .upstreamFailed
                handler.refuse(.badGateway, reason: reason, "\(outcome.host): \(failure?.description ?? "\(error)")\n", context: context)
            }
        }
    }

    private func startForwarding(context: ChannelHandlerContext) {
        guard let upstream else { return }
        request?.upstream = upstreamText
        forwarding = true
        for part in pending { upstream.write(part, promise: nil) }
        upstream.flush()
        pending = []
        pendingBytes = 0
        if paused {
            paused = false
            context.channel.setOption(.autoRead, value: true).whenComplete { _ in }
        }
    }

    /// Stops reading the workload while its request waits (the verdict, the
    /// upstream's connection): what it sends meanwhile stays in the socket.
    /// A request decided from the cache on an open upstream never waits,
    /// and so costs no change of the socket's registration.
    private func pauseReading(_ context: ChannelHandlerContext) {
        guard !paused else { return }
        paused = true
        context.channel.setOption(.autoRead, value: false).whenComplete { _ in }
    }

    private func send(_ part: HTTPClientRequestPart, context: ChannelHandlerContext) {
        if forwarding, let upstream {
            upstream.write(part, promise: nil)
            if case .end = part { upstream.flush() }
            if case .body = part, !upstream.isWritable {
                // The upstream is slow to take the upload: stop reading the workload until it catches up.
                pauseReading(context)
            }
            return
        }
        if case .body(.byteBuffer(let buffer)) = part { pendingBytes += buffer.readableBytes }
        pending.append(part)
        if pendingBytes > settings.maxPendingBytes {
            refuse(.payloadTooLarge, reason: .badRequest, "the request body outran its verdict\n", context: context)
        }
    }

    // MARK: The upstream's side

    /// A response part from the upstream, on this connection's event loop.
    func upstreamRead(_ part: HTTPClientResponsePart) {
        guard let context, !closing else { return }
        lastActivity = context.eventLoop.now
        switch part {
        case .head(let head):
            request?.status = Int(head.status.code)
            upstreamEnding = !head.isKeepAlive
            var outgoing = HTTPResponseHead(version: head.version, status: head.status, headers: head.headers)
            Self.dropHopByHop(&outgoing.headers)
            if head.status == .switchingProtocols {
                // Only to an upgrade the workload asked for; anything else is the upstream breaking HTTP.
                guard let asked = upgradeAsked, let agreed = head.headers["upgrade"].first else {
                    finishRequest(reason: .upstreamFailed)
                    closing = true
                    return context.close(promise: nil)
                }
                upgrading = true
                outgoing.headers.add(name: "upgrade", value: agreed.isEmpty ? asked : agreed)
                outgoing.headers.add(name: "connection", value: "upgrade")
            }
            if request?.closeAfter == true { outgoing.headers.replaceOrAdd(name: "connection", value: "close") }
            context.write(wrapOutboundOut(.head(outgoing)), promise: nil)
        case .body(let body):
            request?.bytesDown += Int64(body.readableBytes)
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
            if !context.channel.isWritable { upstream?.setOption(.autoRead, value: false).whenComplete { _ in } }
        case .end(let trailers):
            if upgrading {
                finishRequest(reason: nil)
                context.write(wrapOutboundOut(.end(trailers)), promise: nil)
                return splice(context: context)
            }
            let closeAfter = request?.closeAfter == true || inputClosed
            finishRequest(reason: nil)
            if upstreamEnding, let ending = upstream {
                // The origin said it closes after this answer: the next
                // request opens a new upstream rather than race the close.
                upstream = nil
                ending.close(promise: nil)
            }
            let done = context.writeAndFlush(wrapOutboundOut(.end(trailers)))
            if closeAfter {
                closing = true
                let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
                done.whenComplete { _ in bound.value.close(promise: nil) }
            }
        }
    }

    /// What the upstream's last read gave goes out to the workload now.
    func upstreamReadComplete() {
        context?.flush()
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if forwarding { upstream?.flush() }
        context.fireChannelReadComplete()
    }

    /// The upgrade is done: the HTTP handlers leave both pipelines, and a
    /// glued pair (as for TLS connections) carries the bytes, idle-timed.
    /// Bytes either side sent past the upgrade are handed to the glue by
    /// the decoders as they go.
    private func splice(context: ChannelHandlerContext) {
        guard let upstream else { return context.close(promise: nil) }
        self.upstream = nil
        context.flush()
        do {
            let (down, up) = GlueHandler.matchedPair(ledger: connection, idleTimeout: settings.idleTimeout, sweeper: sweeper)
            let upstreamSync = upstream.pipeline.syncOperations
            try upstreamSync.addHandler(up)
            upstreamSync.removeHandler(try upstreamSync.handler(type: UpstreamResponseHandler.self), promise: nil)
            upstreamSync.removeHandler(try upstreamSync.handler(type: HTTPRequestEncoder.self), promise: nil)
            if let validator = try? upstreamSync.handler(type: NIOHTTPRequestHeadersValidator.self) {
                upstreamSync.removeHandler(validator, promise: nil)
            }
            upstreamSync.removeHandler(try upstreamSync.handler(type: ByteToMessageHandler<HTTPResponseDecoder>.self), promise: nil)
            let sync = context.pipeline.syncOperations
            try sync.addHandler(down, position: .last)
            sync.removeHandler(try sync.handler(type: HTTPServerPipelineHandler.self), promise: nil)
            sync.removeHandler(try sync.handler(type: HTTPResponseEncoder.self), promise: nil)
            sync.removeHandler(try sync.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self), promise: nil)
            sync.removeHandler(context: context, promise: nil)
        } catch {
            upstream.close(promise: nil)
            context.close(promise: nil)
        }
    }

    /// `channel` closed; it matters only if it is still this connection's
    /// upstream (not one let go after a `Connection: close` answer).
    func upstreamClosed(_ channel: Channel) {
        guard upstream === channel else { return }
        upstream = nil
        // Closed before the response ended: the workload's connection cannot go on.
        if let context, request != nil, forwarding {
            finishRequest(reason: .upstreamFailed)
            closing = true
            context.close(promise: nil)
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { upstream?.setOption(.autoRead, value: true).whenComplete { _ in } }
        context.fireChannelWritabilityChanged()
    }

    /// The upstream took up its backlog: read the workload's upload again.
    func upstreamWritable() {
        guard let context, forwarding, paused else { return }
        paused = false
        context.channel.setOption(.autoRead, value: true).whenComplete { _ in }
    }

    // MARK: Refusals and records

    private func refuse(_ denial: DenialReason, host: String, context: ChannelHandlerContext) {
        switch denial {
        case .policy:
            refuse(.forbidden, reason: .policy, DenialReason.policyText(host, rule: request?.verdict?.rule), context: context)
        case .pdpUnavailable:
            refuse(.serviceUnavailable, reason: denial, DenialReason.unavailableText, context: context)
        case .unresolvable:
            refuse(.badGateway, reason: denial, "\(host) does not resolve\n", context: context)
        case .inward:
            refuse(.forbidden, reason: denial, "\(host) resolves to an internal address; refused\n", context: context)
        default:
            refuse(.badGateway, reason: denial, "\(host): \(denial.rawValue)\n", context: context)
        }
    }

    /// Answers with `status` and a short body, records the request, closes.
    private func refuse(_ status: HTTPResponseStatus, reason: DenialReason, _ body: String, context: ChannelHandlerContext) {
        guard !closing else { return }
        closing = true
        request?.status = Int(status.code)
        finishRequest(reason: reason)
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: "text/plain; charset=utf-8")
        headers.add(name: "content-length", value: String(body.utf8.count))
        headers.add(name: "connection", value: "close")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: body)))), promise: nil)
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in bound.value.close(promise: nil) }
    }

    private func finishRequest(reason: DenialReason?) {
        guard let exchange = request else { return }
        request = nil
        // The next head is due within the head timeout from now.
        if let context { lastActivity = context.eventLoop.now }
        connection.requests += 1
        report(exchange.record(reason: reason))
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if request != nil || !closing {
            // The decoder refused what it read: not HTTP, or framing it cannot trust.
            if request == nil { request = HTTPExchange(head: nil, sourceIP: connection.sourceIP, logQuery: settings.logQuery) }
            refuse(.badRequest, reason: .badRequest, "request refused: it could not be read as HTTP/1.1 (\(error))\n", context: context)
        } else {
            context.close(promise: nil)
        }
    }

    /// The workload closed its side (the listener allows half-closes, for
    /// TLS): nothing more will come, so the connection ends now, or after
    /// the answer to a request in flight. Otherwise it would hold its slot
    /// until the head timeout.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, case .inputClosed = event, !upgrading {
            if request == nil || !forwarding {
                if request != nil { finishRequest(reason: .abandoned) }
                closing = true
                context.close(promise: nil)
            } else {
                inputClosed = true
            }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if request != nil { finishRequest(reason: forwarding ? .upstreamFailed : .abandoned) }
        upstream?.close(promise: nil)
        context.fireChannelInactive()
    }

    /// The protocol a request asks to upgrade to, when it asks properly
    /// (`Upgrade`, and `Connection` naming it).
    static func upgrade(asked headers: HTTPHeaders) -> String? {
        guard let protocols = headers["upgrade"].first, !protocols.isEmpty,
            headers["connection"].contains(where: { $0.lowercased().split(separator: ",").contains { $0.trimmingCharacters(in: .whitespaces) == "upgrade" } })
        else { return nil }
        return protocols
    }

    /// Headers for one hop only (RFC 9110, 7.6.1), and those a proxy must not pass on.
    static func dropHopByHop(_ headers: inout HTTPHeaders) {
        let listed = headers["connection"].flatMap { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() } }
        for name in listed + ["connection", "keep-alive", "proxy-connection", "proxy-authorization", "te", "trailer", "upgrade"] {
            headers.remove(name: name)
        }
    }
}

/// Reads the upstream's responses and hands them to the workload's handler
/// (both on one event loop).
final class UpstreamResponseHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    private let sink: NIOLoopBound<HTTPOriginHandler>

    init(sink: NIOLoopBound<HTTPOriginHandler>) {
        self.sink = sink
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        sink.value.upstreamRead(unwrapInboundIn(data))
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        sink.value.upstreamReadComplete()
        context.fireChannelReadComplete()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { sink.value.upstreamWritable() }
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}
