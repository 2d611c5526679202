import NIOCore

/// Joins two channels: what one reads, the other writes. Reading stops while
/// the other side cannot take more (its writability), so a fast sender never
/// fills memory behind a slow receiver: back-pressure end to end. Closing
/// either side closes both; a half-close (the peer is done sending) is passed
/// on as one, after what is queued, so a client that sends its request and
/// shuts down writing still gets the answer. Bytes are counted on the
/// connection's ledger.
final class GlueHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var partner: GlueHandler?
    private var context: ChannelHandlerContext?
    private var pendingRead = false
    private let ledger: ConnectionLedger
    /// True on the workload's side: what it reads goes up.
    private let downstream: Bool

    private init(ledger: ConnectionLedger, downstream: Bool) {
        self.ledger = ledger
        self.downstream = downstream
    }

    /// The handler for the workload's channel and the one for the upstream channel.
    static func matchedPair(ledger: ConnectionLedger) -> (downstream: GlueHandler, upstream: GlueHandler) {
        let down = GlueHandler(ledger: ledger, downstream: true)
        let up = GlueHandler(ledger: ledger, downstream: false)
        down.partner = up
        up.partner = down
        return (down, up)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        partner = nil
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
        if downstream { ledger.bytesUp += Int64(buffer.readableBytes) } else { ledger.bytesDown += Int64(buffer.readableBytes) }
        partner?.partnerWrite(buffer)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        partner?.partnerFlush()
    }

    func channelInactive(context: ChannelHandlerContext) {
        partner?.partnerClose()
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, case .inputClosed = event {
            partner?.partnerCloseOutput()
            return
        }
        if event is IdleStateHandler.IdleStateEvent {
            ledger.idleClosed = true
            context.close(promise: nil)
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
