import EnforcerCore
import DNSMessage
import EgressAPI
import NIOCore

/// One UDP listener socket's queries (there is one socket per event loop,
/// sharing the port with SO_REUSEPORT). Queries waiting at once are capped
/// for the socket and for each source address: past either, a query is
/// dropped unanswered and counted, and the workload's resolver retries.
///
/// A query waits at most the upstreams' timeouts (`UDPUpstream`) and, when
/// its verdict must be asked, the query timeout (SERVFAIL past it).
/// Answers and forwarded queries made during a burst of reads, here or on
/// the upstream socket, are flushed once at its end: one sendmmsg for many.
final class UDPQueryHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>

    private let answerer: QueryAnswerer
    private let upstream: UDPUpstream
    private let maxInflight: Int
    private let maxInflightPerSource: Int
    private var inflight = 0
    private var bySource: [String: Int] = [:]
    private var context: ChannelHandlerContext?
    private var unflushed = false

    init(answerer: QueryAnswerer, upstream: UDPUpstream, maxInflight: Int, maxInflightPerSource: Int) {
        self.answerer = answerer
        self.upstream = upstream
        self.maxInflight = maxInflight
        self.maxInflightPerSource = maxInflightPerSource
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        upstream.readBurstEnded = { [unowned self] in self.flush() }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        upstream.readBurstEnded = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        guard let source = SourceAddressText.text(envelope.remoteAddress) else { return }
        let waiting = bySource[source, default: 0]
        guard inflight < maxInflight, waiting < maxInflightPerSource else {
            answerer.metrics.query(.dropped)
            return
        }
        inflight += 1
        bySource[source] = waiting + 1
        answerer.metrics.inflight.increment()
        upstream.listenerReading = true

        let loop = context.eventLoop
        let upstream = NIOLoopBound(self.upstream, eventLoop: loop)
        let remote = envelope.remoteAddress
        answerer.answer(envelope.data, from: source, udp: true, on: loop) { upstream.value.ask($0) }.assumeIsolated().whenComplete { [self] outcome in
            done(source)
            guard case .success(let answer?) = outcome, let context = self.context else { return }
            let envelope = wrapOutboundOut(AddressedEnvelope(remoteAddress: remote, data: answer))
            if self.upstream.listenerReading || self.upstream.reading {
                context.write(envelope, promise: nil)
                unflushed = true
            } else {
                context.writeAndFlush(envelope, promise: nil)
            }
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        upstream.listenerReading = false
        upstream.flush()
        flush()
    }

    private func flush() {
        guard unflushed, let context else { return }
        unflushed = false
        context.flush()
    }

    private func done(_ source: String) {
        inflight -= 1
        answerer.metrics.inflight.decrement()
        let left = bySource[source, default: 1] - 1
        bySource[source] = left > 0 ? left : nil
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // A datagram socket's errors (an ICMP unreachable from a workload
        // that went away) concern one datagram, not the listener.
    }
}
