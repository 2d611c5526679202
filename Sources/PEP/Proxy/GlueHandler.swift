#if canImport(Glibc)
import EnforcerCore
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import NIOCore

/// Joins two channels: what one reads, the other writes. Reading stops while
/// the other side cannot take more (its writability), so a fast sender never
/// fills memory behind a slow receiver: back-pressure end to end. Closing
/// either side closes both; a half-close (the peer is done sending) is passed
/// on as one, after what is queued, so a client that sends its request and
/// shuts down writing still gets the answer. Bytes are counted on the
/// connection's ledger.
///
/// The workload's side also closes the pair after `idleTimeout` with nothing
/// read on either side: everything written was read on the other side first,
/// and reading pauses only while the other side's queue is full, so a queue
/// that does not drain for that long counts as idle too. NIO's
/// IdleStateHandler did this before at a cost on every read and every write
/// (a promise per write) and a timer per connection; here a read burst
/// stores a time, and the event loop's `DeadlineSweeper` compares.
final class GlueHandler: ChannelDuplexHandler, SweptHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var partner: GlueHandler?
    private var context: ChannelHandlerContext?
    private var pendingRead = false
    /// Bytes read since the last read burst ended.
    private var burstBytes = 0
    private let ledger: ConnectionLedger
    /// True on the workload's side: what it reads goes up.
    private let downstream: Bool
    /// The idle limit and its sweeper: the workload's side only.
    private let idle: (timeout: TimeAmount, sweeper: DeadlineSweeper)?
    var sweepIndex: Int?

    private init(ledger: ConnectionLedger, downstream: Bool, idle: (timeout: TimeAmount, sweeper: DeadlineSweeper)?) {
        self.ledger = ledger
        self.downstream = downstream
        self.idle = idle
    }

    /// The handler for the workload's channel and the one for the upstream channel.
    static func matchedPair(
        ledger: ConnectionLedger, idleTimeout: TimeAmount, sweeper: DeadlineSweeper
    ) -> (downstream: GlueHandler, upstream: GlueHandler) {
        let down = GlueHandler(ledger: ledger, downstream: true, idle: (idleTimeout, sweeper))
        let up = GlueHandler(ledger: ledger, downstream: false, idle: nil)
        down.partner = up
        up.partner = down
        return (down, up)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if let idle {
            ledger.lastActivity = context.eventLoop.now
            idle.sweeper.add(self)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        partner = nil
        idle?.sweeper.remove(self)
    }

    func sweep(now: NIODeadline) -> Bool {
        guard let context, let idle else { return false }
        guard now >= ledger.lastActivity + idle.timeout else { return true }
        ledger.idleClosed = true
        context.close(promise: nil)
        return false
    }

    private func partnerWrite(_ buffer: ByteBuffer) {
        context?.write(wrapOutboundOut(buffer), promise: nil)
    }

    private func partnerFlush() {
        context?.flush()
    }

    private func partnerClose() {
        context?.close(promise: nil)
    }

    private func partnerCloseOutput() {
        guard let context else { return }
        // NIO turns this into a full close when the input is already shut,
        // and a full close drops writes still queued: the FIN goes only once
        // everything queued is written.
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(capacity: 0))).whenComplete { _ in
            bound.value.close(mode: .output, promise: nil)
        }
    }

    private func partnerBecameWritable() {
        if pendingRead {
            pendingRead = false
            context?.read()
        }
    }

    private var partnerWritable: Bool {
        context?.channel.isWritable ?? false
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        burstBytes += buffer.readableBytes
        if downstream { ledger.bytesUp += Int64(buffer.readableBytes) } else { ledger.bytesDown += Int64(buffer.readableBytes) }
        partner?.partnerWrite(buffer)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        ledger.lastActivity = context.eventLoop.now
        partner?.partnerFlush()
        let burst = burstBytes
        burstBytes = 0
        if burst < Self.yieldBelow { sched_yield() }
    }

    /// After passing on a read burst smaller than this (a handshake
    /// message, a request, an answer: not a bulk transfer), the loop offers
    /// its CPU (`sched_yield`). The bytes just flushed are what a process
    /// on the other side waits for (the workload on a node; client and
    /// server in the benchmark), and the kernel tends to wake it on this
    /// CPU; without the yield it waited while the loop went on, with other
    /// connections under load, or with setting up this one's upstream, up
    /// to the scheduler's next tick (4 ms here). With nobody waiting the
    /// call returns at once. When the verdict was cached and the upstream
    /// took the ClientHello at once, the splice happens within the read
    /// that carried the hello, and that read counts as a small burst here
    /// too (the hello reached the peek handler, not this one): the server
    /// has just been woken by it. (A verdict asked of the service, or an
    /// upstream still opening, splices later, without this yield: the
    /// server is not waiting on this CPU then.) Measured on
    /// bench/pep-bench's network, alternating builds: under the connection
    /// load 1,388-1,456 against
    /// 1,263-1,352 connections/s, and 247-271 against 309-356 µs of CPU per
    /// connection; on sequential connections the TCP + TLS handshake's
    /// median through egress-pep came within 53 µs (7-129) of HAProxy's,
    /// from 252 (245-320), together with a yield right after the hello's
    /// send(2), which this one replaced once the upstream channel was set
    /// up before that send (`UpstreamConnector`). After a bulk burst it
    /// cost a download about 3%, so bigger bursts keep the CPU.
    static let yieldBelow = 16 * 1024

    func channelInactive(context: ChannelHandlerContext) {
        partner?.partnerClose()
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, case .inputClosed = event {
            partner?.partnerCloseOutput()
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { partner?.partnerBecameWritable() }
        context.fireChannelWritabilityChanged()
    }

    func read(context: ChannelHandlerContext) {
        if partner?.partnerWritable ?? false {
            context.read()
        } else {
            pendingRead = true
        }
    }
}
