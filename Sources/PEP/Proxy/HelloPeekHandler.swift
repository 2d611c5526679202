import EnforcerCore
import ClientHello
import NIOCore

/// The first handler of every workload connection (after CONNECT, in explicit
/// mode): holds the bytes until the ClientHello is complete, has the gate
/// decide, then either joins the connection to its upstream (replaying every
/// held byte) or refuses it. Nothing is sent upstream before the verdict,
/// and on deny no upstream connection is ever opened.
final class HelloPeekHandler: ChannelInboundHandler, RemovableChannelHandler, SweptHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var state = HelloPeekState()
    /// The hello must be complete by then.
    private var helloDeadline = NIODeadline.distantFuture
    var sweepIndex: Int?
    private let ledger: ConnectionLedger
    private let gate: EgressGate
    private let expectedHost: String?
    private let helloTimeout: TimeAmount
    private let idleTimeout: TimeAmount
    private let sweeper: DeadlineSweeper

    init(
        ledger: ConnectionLedger, gate: EgressGate, expectedHost: String?, helloTimeout: TimeAmount, idleTimeout: TimeAmount,
        sweeper: DeadlineSweeper
    ) {
        self.ledger = ledger
        self.gate = gate
        self.expectedHost = expectedHost
        self.helloTimeout = helloTimeout
        self.idleTimeout = idleTimeout
        self.sweeper = sweeper
    }

    /// Kept for callbacks: bound to the event loop with the handler alone, as
    /// a tuple's type would be looked up at run time on every connection.
    private var context: ChannelHandlerContext?

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        helloDeadline = context.eventLoop.now + helloTimeout
        sweeper.add(self)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        sweeper.remove(self)
    }

    func sweep(now: NIODeadline) -> Bool {
        guard state.phase == .reading, let context else { return false }
        guard now >= helloDeadline else { return true }
        _ = state.helloDeadlinePassed()
        ledger.denial = .helloTimeout
        context.close(promise: nil)
        return false
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        switch state.read(&bytes) {
        case .wait:
            return
        case .closeOverfull:
            ledger.denial = ledger.denial ?? .malformed
            context.close(promise: nil)
        case .decide(let hello):
            sweeper.remove(self)
            decide(hello, context: context)
        }
    }

    /// Reading goes on while the verdict is asked (switching it off and on
    /// costs more per connection than it saves): anything after the hello
    /// waits in the state's held bytes, bounded by `HelloPeekState.maxHeld`.
    private func decide(_ hello: ClientHelloResult, context: ChannelHandlerContext) {
        switch hello {
        case .sni(let host, let ech):
            // Known now, so that the record names it however the connection ends.
            ledger.host = host
            ledger.ech = ech
        case .noSNI(let ech):
            ledger.ech = ech
        case .notTLS, .malformed:
            break
        }
        let intent: EgressIntent
        switch ClientHelloScreen.screen(hello, expectedHost: expectedHost, refuseECH: gate.settings.refuseECH) {
        case .refused(let denial):
            // The record names the SNI, or no host when there is none (not
            // the CONNECT target: what the connection asked for is unknown).
            var sni = ""
            if case .sni(let host, _) = hello { sni = host }
            return proceed(context: context, outcome: EgressGate.Outcome(host: sni, denial: denial), hello: hello)
        case .host(let host):
            intent = EgressIntent(sourceIP: ledger.sourceIP, host: host, port: ledger.port, transport: .tls)
        }
        if let outcome = gate.admitNow(intent) {
            return proceed(context: context, outcome: outcome, hello: hello)
        }
        let gate = self.gate
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        context.eventLoop.makeFutureWithTask {
            await gate.admit(intent)
        }.whenSuccess { outcome in
            let handler = bound.value
            guard let context = handler.context else { return }
            handler.proceed(context: context, outcome: outcome, hello: hello)
        }
    }

    private func proceed(context: ChannelHandlerContext, outcome: EgressGate.Outcome, hello: ClientHelloResult) {
        ledger.host = outcome.host
        ledger.verdict = outcome.verdict
        ledger.origin = outcome.origin
        ledger.upstream = outcome.inwardAddress
        guard context.channel.isActive else {
            // The workload left while we decided: nothing is opened for it.
            state.refuse()
            ledger.denial = outcome.denial
            return
        }
        if let denial = outcome.denial {
            ledger.denial = denial
            refuse(context: context, hello: hello)
            return
        }
        // What is held now goes upstream with the connection; what the
        // workload sends meanwhile is held anew and follows at the splice.
        let sending = state.takeHeld()
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let wanted: @Sendable () -> Bool = { bound.value.context?.channel.isActive ?? false }
        gate.open(outcome.addresses, sending: sending, host: outcome.host, on: context.eventLoop, while: wanted).whenComplete { result in
            let handler = bound.value
            handler.state.finish()
            guard let context = handler.context else {
                if case .success(let upstream) = result { upstream.channel.close(promise: nil) }
                return
            }
            switch result {
            case .success(let upstream):
                handler.ledger.upstream = upstream.address
                handler.ledger.bytesUp += Int64(sending.readableBytes)
                handler.splice(context: context, upstream: upstream.channel)
            case .failure:
                handler.ledger.denial = .upstreamFailed
                handler.refuse(context: context, hello: hello)
            }
        }
    }

    /// Joins the workload's channel to its upstream, which has taken the
    /// bytes held until the connect; any that came later follow now.
    private func splice(context: ChannelHandlerContext, upstream: Channel) {
        guard context.channel.isActive else {
            upstream.close(promise: nil)
            return
        }
        do {
            let (down, up) = GlueHandler.matchedPair(ledger: ledger, idleTimeout: idleTimeout, sweeper: sweeper)
            try upstream.pipeline.syncOperations.addHandler(up)
            try context.pipeline.syncOperations.addHandler(down, position: .last)
        } catch {
            ledger.denial = .upstreamFailed
            upstream.close(promise: nil)
            context.close(promise: nil)
            return
        }
        let later = state.takeHeld()
        if later.readableBytes > 0 {
            ledger.bytesUp += Int64(later.readableBytes)
            upstream.writeAndFlush(later, promise: nil)
        }
        if state.inputClosed { upstream.close(mode: .output, promise: nil) }
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    /// A TLS record holding one alert (RFC 8446, 5.1 and 6): content type 21
    /// (alert), legacy version 3.3, length 2, level 2 (fatal), description
    /// 49 (`access_denied`). Sent before the handshake, in plaintext.
    static let accessDeniedAlert: [UInt8] = [21, 0x03, 0x03, 0x00, 0x02, 2, 49]

    /// A TLS client gets a fatal `access_denied` alert, so that it reports a
    /// refusal rather than a network error; anything else is just closed.
    private func refuse(context: ChannelHandlerContext, hello: ClientHelloResult) {
        state.refuse()
        switch hello {
        case .sni, .noSNI:
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: Self.accessDeniedAlert))).whenComplete { _ in
                bound.value.close(promise: nil)
            }
        case .notTLS, .malformed:
            context.close(promise: nil)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, case .inputClosed = event {
            // Gone before its hello was complete: recorded as abandoned.
            if state.inputEnded() == .close { context.close(promise: nil) }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}
