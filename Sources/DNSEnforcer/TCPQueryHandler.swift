import EnforcerCore
import ConnectionLimits
import EgressAPI
import NIOCore

/// One workload TCP connection (RFC 7766): queries framed by their length,
/// answered in the order they came, one at a time. The connection is closed
/// after the idle timeout with no query read or waiting (an
/// `IdleStateHandler` before this one). Queries still queued when the
/// workload goes away are not asked; the connection's admission slot is
/// given back only once the query being answered is done, so that
/// connecting, sending and closing cannot pile up work past the caps.
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
        guard let address = context.remoteAddress, let source = SourceAddressText.text(address),
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
            self.source = nil
            let admission = self.admission
            let metrics = answerer.metrics
            let release: @Sendable () -> Void = {
                admission.release(source)
                metrics.tcpConnectionsOpen.decrement()
            }
            if let previous { previous.whenComplete { _ in release() } } else { release() }
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
        let active = NIOLoopBound(context.channel, eventLoop: loop)
        previous = ready.flatMap { () -> EventLoopFuture<ByteBuffer?> in
            // The workload went away: what it queued is not asked.
            guard active.value.isActive else { return loop.makeSucceededFuture(nil) }
            return answerer.answer(query, from: source, udp: false, on: loop) { upstream.ask($0, on: loop) }
        }.map { answer in
            let (handler, context) = bound.value
            handler.queued -= 1
            guard let answer, context.channel.isActive else { return }
            context.writeAndFlush(
                handler.wrapOutboundOut(LengthPrefixedMessages.framed(answer, allocator: context.channel.allocator)), promise: nil)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            // Idle is a connection with nothing asked and nothing waiting.
            if queued == 0 { context.close(promise: nil) }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}
