import Logging
import NIOCore
import NIOHTTP2

/// Pings the decision service over the enforcer's HTTP/2 connection every
/// `interval`, and closes the connection when nothing at all comes back on
/// it within `timeout` of a ping. A service that vanished without a reset (a
/// node gone, a NAT entry dropped) otherwise looks connected for minutes:
/// the watch stream stays silent, so changed policies no longer invalidate
/// cached verdicts, and readiness still says ready. Closing it ends the
/// watch; the follower and the next request connect again.
///
/// It sits after the HTTP/2 handler, which passes it the connection's own
/// frames (stream 0: settings, pings and their answers, GOAWAY).
final class PingKeepalive: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTP2Frame
    typealias InboundOut = HTTP2Frame
    typealias OutboundOut = HTTP2Frame

    private let interval: TimeAmount
    private let timeout: TimeAmount
    private let logger: Logger
    private var timer: RepeatedTask?
    /// When the unanswered ping went out.
    private var pingSent: NIODeadline?
    private var pings: UInt64 = 0
    private var sinceLastPing = TimeAmount.zero

    init(interval: TimeAmount, timeout: TimeAmount, logger: Logger) {
        self.interval = interval
        self.timeout = timeout
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // Any frame from the service shows it is there.
        pingSent = nil
        context.fireChannelRead(data)
    }

    func channelInactive(context: ChannelHandlerContext) {
        stop()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        stop()
    }

    private func start(_ context: ChannelHandlerContext) {
        guard timer == nil else { return }
        // Checked a few times per interval, so that the timeout is kept to
        // within a fraction of it.
        let tick = TimeAmount.nanoseconds(max(min(interval.nanoseconds, timeout.nanoseconds) / 4, 1_000_000))
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleRepeatedTask(initialDelay: tick, delay: tick) { _ in
            let (handler, context) = bound.value
            let now = context.eventLoop.now
            if let sent = handler.pingSent {
                guard now - sent >= handler.timeout else { return }
                handler.logger.warning(
                    "the decision service did not answer a ping; closing the connection",
                    metadata: ["timeout_ms": "\(handler.timeout.nanoseconds / 1_000_000)"])
                handler.stop()
                context.close(promise: nil)
                return
            }
            handler.sinceLastPing = handler.sinceLastPing + tick
            guard handler.sinceLastPing >= handler.interval else { return }
            handler.sinceLastPing = .zero
            handler.pings &+= 1
            handler.pingSent = now
            context.writeAndFlush(
                handler.wrapOutboundOut(
                    HTTP2Frame(streamID: .rootStream, payload: .ping(HTTP2PingData(withInteger: handler.pings), ack: false))),
                promise: nil)
        }
    }

    private func stop() {
        timer?.cancel()
        timer = nil
    }
}
