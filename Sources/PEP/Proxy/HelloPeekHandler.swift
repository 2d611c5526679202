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

    private enum State {
        case reading
        case deciding
        case done
    }

    private var state = State.reading
    private var reader = ClientHelloReader()
    private var held: ByteBuffer?
    /// The hello must be complete by then.
    private var helloDeadline = NIODeadline.distantFuture
    var sweepIndex: Int?
    /// The workload half-closed after its hello, while the verdict was asked:
    /// the FIN is passed upstream after the replay.
    private var inputClosed = false
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
        helloDeadline = .now() + helloTimeout
        sweeper.add(self)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        sweeper.remove(self)
    }

    func sweep(now: NIODeadline) -> Bool {
        guard case .reading = state, let context else { return false }
        guard now >= helloDeadline else { return true }
        state = .done
        ledger.denial = .helloTimeout
        context.close(promise: nil)
        return false
    }

    /// Bytes held at most, the hello and what follows it while the verdict
    /// is asked: the hello's cap and a few records more. The same bound
    /// holds again for what arrives while the upstream opens.
    static let maxHeld = ClientHelloReader.maxHelloLength + 4 * 16_384

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        switch state {
        case .done:
            return
        case .deciding:
            // Turning autoRead off does not stop the read in progress: what
            // arrives behind the hello is kept and replayed after it.
            hold(&bytes, context: context)
            return
        case .reading:
            break
        }
        let result = bytes.withUnsafeReadableBytes { reader.feed($0) }
        hold(&bytes, context: context)
        guard let result, case .reading = state else { return }
        if case .sni(let host, let ech) = result {
            // Known now, so that the record names it however the connection ends.
            ledger.host = host
            ledger.ech = ech
        } else if case .noSNI(let ech) = result {
            ledger.ech = ech
        }
        sweeper.remove(self)
        // Reading goes on while the verdict is asked (switching it off and on
        // costs more per connection than it saves): anything after the hello
        // waits in `held`, bounded by `maxHeld`.
        state = .deciding
        let (sourceIP, port) = (ledger.sourceIP, ledger.port)
        if let outcome = gate.admitNow(result, sourceIP: sourceIP, port: port, expectedHost: expectedHost) {
            proceed(context: context, outcome: outcome, hello: result)
            return
        }
        let (gate, expectedHost) = (self.gate, self.expectedHost)
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        context.eventLoop.makeFutureWithTask {
            await gate.admit(result, sourceIP: sourceIP, port: port, expectedHost: expectedHost)
        }.whenSuccess { outcome in
            let handler = bound.value
            guard let context = handler.context else { return }
            handler.proceed(context: context, outcome: outcome, hello: result)
        }
    }

    private func hold(_ bytes: inout ByteBuffer, context: ChannelHandlerContext) {
        if held == nil {
            held = bytes
        } else {
            held?.writeBuffer(&bytes)
        }
        if (held?.readableBytes ?? 0) > Self.maxHeld {
            // The reader refuses a longer hello itself; this bounds what a
            // client can make us hold behind one.
            state = .done
            ledger.denial = ledger.denial ?? .malformed
            held = nil
            context.close(promise: nil)
        }
    }

    private func proceed(context: ChannelHandlerContext, outcome: EgressGate.Outcome, hello: ClientHelloResult) {
        ledger.host = outcome.host
        ledger.ech = outcome.ech
        ledger.verdict = outcome.verdict
        ledger.origin = outcome.origin
        ledger.upstream = outcome.inwardAddress
        guard context.channel.isActive else {
            // The workload left while we decided: nothing is opened for it.
            state = .done
            ledger.denial = outcome.denial
            return
        }
        if let denial = outcome.denial {
            state = .done
            ledger.denial = denial
            refuse(context: context, hello: hello)
            return
        }
        // What is held now goes upstream with the connection; what the
        // workload sends meanwhile is held anew and follows at the splice.
        let sending = held ?? ByteBuffer()
        held = nil
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let wanted: @Sendable () -> Bool = { bound.value.context?.channel.isActive ?? false }
        gate.open(outcome.addresses, sending: sending, host: outcome.host, on: context.eventLoop, while: wanted).whenComplete { result in
            let handler = bound.value
            handler.state = .done
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
        if let held, held.readableBytes > 0 {
            ledger.bytesUp += Int64(held.readableBytes)
            upstream.writeAndFlush(held, promise: nil)
        }
        held = nil
        if inputClosed { upstream.close(mode: .output, promise: nil) }
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    /// A TLS record holding one alert (RFC 8446, 5.1 and 6): content type 21
    /// (alert), legacy version 3.3, length 2, level 2 (fatal), description
    /// 49 (`access_denied`). Sent before the handshake, in plaintext.
    static let accessDeniedAlert: [UInt8] = [21, 0x03, 0x03, 0x00, 0x02, 2, 49]

    /// A TLS client gets a fatal `access_denied` alert, so that it reports a
    /// refusal rather than a network error; anything else is just closed.
    private func refuse(context: ChannelHandlerContext, hello: ClientHelloResult) {
        held = nil
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
            switch state {
            case .reading:
                // Gone before its hello was complete (recorded as abandoned).
                state = .done
                context.close(promise: nil)
            case .deciding:
                inputClosed = true
            case .done:
                break
            }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}
