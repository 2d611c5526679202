import ConnectionLimits
import EgressAPI
import NIOCore

/// One workload TCP connection (RFC 7766): queries framed by their length,
/// answered in the order they came, one at a time. The connection is closed
/// after the idle timeout without a query (an `IdleStateHandler` before
/// this one), and released from the admission caps however it ends.
final class TCPQueryHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let answerer: QueryAnswerer
    private let upstream: TCPUpstream
    private let admission: ConnectionAdmission
    private var source: String?
    /// The answer being worked on: the next query waits for it.
    private var previous: EventLoopFuture<Void>?
    /// Queries read and not yet answered: past `maxQueued` the connection is
    /// closed, so that pipelining cannot queue without bound.
    private var queued = 0
    static let maxQueued = 32

    init(answerer: QueryAnswerer, upstream: TCPUpstream, admission: ConnectionAdmission) {
        self.answerer = answerer
        self.upstream = upstream
        self.admission = admission
    }

    func channelActive(context: ChannelHandlerContext) {
        guard let ip = context.remoteAddress?.ipAddress, let source = IPAddressText.normalize(ip),
            admission.admit(source) == nil
        else {
            answerer.metrics.tcpRefused.increment()
            context.close(promise: nil)
            return
        }
        self.source = source
        answerer.metrics.tcpConnectionsOpen.increment()
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let source {
            admission.release(source)
            answerer.metrics.tcpConnectionsOpen.decrement()
            self.source = nil
        }
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let source else { return }
        guard queued < Self.maxQueued else {
            answerer.metrics.tcpRefused.increment()
            context.close(promise: nil)
            return
        }
        queued += 1
        let query = unwrapInboundIn(data)
        let loop = context.eventLoop
        let answerer = self.answerer
        let upstream = self.upstream
        let bound = NIOLoopBound((handler: self, context: context), eventLoop: loop)
        let ready = previous ?? loop.makeSucceededVoidFuture()
        previous = ready.flatMap { () -> EventLoopFuture<ByteBuffer?> in
            let result = loop.makePromise(of: ByteBuffer?.self)
            let deadline = loop.scheduleTask(in: answerer.settings.queryTimeout) { result.succeed(QueryAnswerer.timedOut(query)) }
            answerer.answer(query, from: source, udp: false, on: loop) { query, _ in upstream.ask(query, on: loop) }.cascade(to: result)
            result.futureResult.whenComplete { _ in deadline.cancel() }
            return result.futureResult
        }.map { answer in
            let (handler, context) = bound.value
            handler.queued -= 1
            guard let answer, context.channel.isActive else { return }
            var framed = context.channel.allocator.buffer(capacity: answer.readableBytes + 2)
            framed.writeInteger(UInt16(answer.readableBytes))
            framed.writeImmutableBuffer(answer)
            context.writeAndFlush(handler.wrapOutboundOut(framed), promise: nil)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}
