import DNSMessage
import EgressAPI
import NIOCore

/// One UDP listener socket's queries (there is one socket per event loop,
/// sharing the port with SO_REUSEPORT). Each query is answered within the
/// query timeout (SERVFAIL past it). Queries waiting at once are capped for
/// the socket and for each source address: past either, a query is dropped
/// unanswered and counted, and the workload's resolver retries.
final class UDPQueryHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>

    private let answerer: QueryAnswerer
    private let upstream: UDPUpstream
    private let maxInflight: Int
    private let maxInflightPerSource: Int
    private var inflight = 0
    private var bySource: [String: Int] = [:]

    init(answerer: QueryAnswerer, upstream: UDPUpstream, maxInflight: Int, maxInflightPerSource: Int) {
        self.answerer = answerer
        self.upstream = upstream
        self.maxInflight = maxInflight
        self.maxInflightPerSource = maxInflightPerSource
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        guard let ip = envelope.remoteAddress.ipAddress, let source = IPAddressText.normalize(ip) else { return }
        let waiting = bySource[source, default: 0]
        guard inflight < maxInflight, waiting < maxInflightPerSource else {
            answerer.metrics.query(.dropped)
            return
        }
        inflight += 1
        bySource[source] = waiting + 1
        answerer.metrics.inflight.increment()

        let loop = context.eventLoop
        let upstream = NIOLoopBound(self.upstream, eventLoop: loop)
        let result = loop.makePromise(of: ByteBuffer?.self)
        let query = envelope.data
        let deadline = loop.scheduleTask(in: answerer.settings.queryTimeout) {
            result.succeed(QueryAnswerer.timedOut(query))
        }
        answerer.answer(envelope.data, from: source, udp: true, on: loop) { query, questionEnd in
            upstream.value.ask(query, questionEnd: questionEnd)
        }.cascade(to: result)

        let bound = NIOLoopBound((handler: self, context: context), eventLoop: loop)
        let remote = envelope.remoteAddress
        result.futureResult.whenComplete { outcome in
            deadline.cancel()
            let (handler, context) = bound.value
            handler.done(source)
            if case .success(let answer?) = outcome, context.channel.isActive {
                context.writeAndFlush(handler.wrapOutboundOut(AddressedEnvelope(remoteAddress: remote, data: answer)), promise: nil)
            }
        }
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
