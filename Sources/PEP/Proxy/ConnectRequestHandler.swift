import EnforcerCore
import DaemonOptions
import NIOCore
import NIOHTTP1

/// Explicit mode: reads one `CONNECT host:port` request. A host the policy
/// denies is answered 403 at once; otherwise 200, and the tunnel's first
/// bytes go to a `HelloPeekHandler` that requires the SNI to be that host,
/// so a workload cannot CONNECT to an allowed name and then speak to another.
/// A request in absolute form (`GET http://host/path`, as a forward proxy
/// gets plain HTTP) is handed to an `HTTPOriginHandler`, which carries it
/// out as TLS like the transparent HTTP listener does.
final class ConnectRequestHandler: ChannelInboundHandler, RemovableChannelHandler, SweptHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private var target: (host: String, port: Int)?
    private var answered = false
    private let ledger: ConnectionLedger
    private let gate: EgressGate
    private let makePeek: (String) -> HelloPeekHandler
    private let makeOrigin: (() -> HTTPOriginHandler)?
    private let decoderName: String
    private let encoderName: String
    private let requestTimeout: TimeAmount
    private let sweeper: DeadlineSweeper
    private var requestDeadline = NIODeadline.distantFuture
    private var context: ChannelHandlerContext?
    var sweepIndex: Int?

    init(
        ledger: ConnectionLedger, gate: EgressGate, decoderName: String, encoderName: String, requestTimeout: TimeAmount,
        sweeper: DeadlineSweeper, makePeek: @escaping (String) -> HelloPeekHandler, makeOrigin: (() -> HTTPOriginHandler)? = nil
    ) {
        self.makeOrigin = makeOrigin
        self.requestTimeout = requestTimeout
        self.sweeper = sweeper
        self.ledger = ledger
        self.gate = gate
        self.decoderName = decoderName
        self.encoderName = encoderName
        self.makePeek = makePeek
    }

    /// The CONNECT request has as long as a ClientHello would: a silent or
    /// trickling client must not hold a connection slot.
    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        requestDeadline = context.eventLoop.now + requestTimeout
        sweeper.add(self)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        sweeper.remove(self)
    }

    func sweep(now: NIODeadline) -> Bool {
        guard !answered, let context else { return false }
        guard now >= requestDeadline else { return true }
        answered = true
        ledger.denial = .helloTimeout
        context.close(promise: nil)
        return false
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !answered else { return }
        switch unwrapInboundIn(data) {
        case .head(let head):
            if head.method != .CONNECT, let makeOrigin, HTTPRequestScreen.authority(ofAbsolute: head.uri) != nil {
                return handOver(to: makeOrigin(), head: data, context: context)
            }
            guard head.method == .CONNECT else {
                return fail(context, .methodNotAllowed, "this proxy tunnels TLS (CONNECT host:443) and carries http:// URLs out as TLS\n")
            }
            guard let target = Self.parse(head.uri) else {
                return fail(context, .badRequest, "CONNECT needs host:port, got '\(head.uri.prefix(100))'\n")
            }
            self.target = target
            ledger.host = target.host
            ledger.port = target.port
        case .body:
            break
        case .end:
            guard let target else { return fail(context, .badRequest, "no CONNECT request\n") }
            answered = true
            sweeper.remove(self)
            context.channel.setOption(.autoRead, value: false).whenComplete { _ in }
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            let (cache, key) = (gate.cache, VerdictKey(sourceIP: ledger.sourceIP, host: target.host, port: target.port))
            context.eventLoop.makeFutureWithTask { () -> Result<(Verdict, VerdictCache.Origin), Error> in
                do { return .success(try await cache.verdict(for: key)) } catch { return .failure(error) }
            }.whenSuccess { result in
                let (handler, context) = bound.value
                handler.decided(context: context, target: target, result: result)
            }
        }
    }

    private func decided(context: ChannelHandlerContext, target: (host: String, port: Int), result: Result<(Verdict, VerdictCache.Origin), Error>) {
        switch result {
        case .failure:
            ledger.denial = .pdpUnavailable
            return respond(context, .serviceUnavailable, DenialReason.unavailableText, close: true)
        case .success(let (verdict, origin)):
            ledger.verdict = verdict
            ledger.origin = origin
            guard verdict.allow else {
                ledger.denial = .policy
                return respond(context, .forbidden, DenialReason.policyText("\(target.host):\(target.port)", rule: verdict.rule), close: true)
            }
        }
        // The tunnel starts: what follows the request is the workload's TLS.
        // The 200 goes out raw: the HTTP encoder would frame it as a body.
        do {
            let sync = context.pipeline.syncOperations
            sync.removeHandler(name: encoderName, promise: nil)
            context.writeAndFlush(NIOAny(ByteBuffer(string: "HTTP/1.1 200 Connection Established\r\n\r\n")), promise: nil)
            try sync.addHandler(makePeek(target.host), position: .after(self))
            // This handler goes before the decoder, which hands any bytes it
            // read past the request to the peek handler.
            sync.removeHandler(context: context, promise: nil)
            sync.removeHandler(name: decoderName, promise: nil)
            context.channel.setOption(.autoRead, value: true).whenComplete { _ in }
        } catch {
            context.close(promise: nil)
        }
    }

    /// Plain HTTP from here on: this handler steps aside for the pipeline
    /// handler (one request at a time) and the origin handler, which get the
    /// head it read and every part after it.
    private func handOver(to origin: HTTPOriginHandler, head: NIOAny, context: ChannelHandlerContext) {
        answered = true
        sweeper.remove(self)
        do {
            let sync = context.pipeline.syncOperations
            let pipelining = HTTPServerPipelineHandler()
            try sync.addHandler(pipelining, position: .after(self))
            try sync.addHandler(origin, position: .after(pipelining))
            context.fireChannelRead(head)
            sync.removeHandler(context: context, promise: nil)
        } catch {
            context.close(promise: nil)
        }
    }

    private func fail(_ context: ChannelHandlerContext, _ status: HTTPResponseStatus, _ message: String) {
        answered = true
        ledger.denial = .badConnect
        respond(context, status, message, close: true)
    }

    private func respond(_ context: ChannelHandlerContext, _ status: HTTPResponseStatus, _ message: String?, close: Bool) {
        var headers = HTTPHeaders()
        if let message {
            headers.add(name: "content-type", value: "text/plain; charset=utf-8")
            headers.add(name: "content-length", value: String(message.utf8.count))
        }
        if close { headers.add(name: "connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        if let message { context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: message)))), promise: nil) }
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if close {
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            done.whenComplete { _ in bound.value.close(promise: nil) }
        }
    }

    /// `host:port`, `[v6]:port`; the host lower-cased without a trailing dot.
    static func parse(_ uri: String) -> (host: String, port: Int)? {
        guard let (rawHost, port) = HostPort.split(Substring(uri)), port > 0, let host = HostPort.normalizedHost(rawHost) else { return nil }
        return (host, port)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, case .inputClosed = event, !answered {
            // The client left before its CONNECT was complete.
            answered = true
            ledger.denial = .badConnect
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if !answered {
            fail(context, .badRequest, "the CONNECT request could not be read\n")
        } else {
            context.close(promise: nil)
        }
    }
}
