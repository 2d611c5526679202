import NIOCore
import NIOPosix

/// Queries sent to the upstream resolvers over UDP from one socket of one
/// event loop, matched to their answers by a fresh random id. An answer is
/// taken only from an upstream's address, for an id being waited on, with
/// the question that was asked: anything else is dropped and counted. When
/// an upstream does not answer within its timeout, the query goes to the
/// next, and the next is preferred from then on (failover); when every
/// upstream was tried, the query fails. Timeouts are found by one sweep of
/// the waiting queries every `tick`, not a timer per query: a timer is a heap
/// insertion and removal on every query's path.
///
/// Writes made while the listener is reading a burst of queries are
/// flushed once at its end (`flush()`), so that the kernel gets them in one
/// sendmmsg; answers read in a burst here are handed on, and the listener is
/// told at its end (`readBurstEnded`).
///
/// Confined to its event loop: every method runs on `loop`.
final class UDPUpstream {
    private struct Pending {
        let promise: EventLoopPromise<ByteBuffer>
        var query: ByteBuffer
        /// The question's bytes (after the header), to match the answer's.
        let question: ByteBuffer
        var upstream: Int
        var tried: Int
        var deadline: NIODeadline
    }

    let loop: EventLoop
    private let upstreams: [SocketAddress]
    private let timeout: TimeAmount
    private let metrics: DNSMetrics
    private var channel: Channel?
    private var pending: [UInt16: Pending] = [:]
    /// The upstream tried first: moved on when one fails to answer.
    private var preferred = 0
    private var generator = SystemRandomNumberGenerator()
    private var sweeper: RepeatedTask?
    private var unflushed = false
    /// Whether the listener is in a burst of reads: writes here and its
    /// answers wait for its end.
    var listenerReading = false
    /// Whether answers are being read in a burst here: the listener's
    /// writes wait for its end, when `readBurstEnded` is called.
    private(set) var reading = false
    var readBurstEnded: (() -> Void)?

    init(loop: EventLoop, upstreams: [SocketAddress], timeout: TimeAmount, metrics: DNSMetrics) {
        self.loop = loop
        self.upstreams = upstreams
        self.timeout = timeout
        self.metrics = metrics
    }

    /// Opens the socket: an ephemeral port on every address of the upstreams' family.
    func start() -> EventLoopFuture<Void> {
        let bound = NIOLoopBound(self, eventLoop: loop)
        let any = upstreams.first?.protocol == .inet6 ? "::" : "0.0.0.0"
        return DatagramBootstrap(group: loop)
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(AnswerHandler(upstream: bound))
                }
            }
            // Whole answers: as large as a workload's EDNS size lets the
            // upstream make them (NIO's default buffer is 2 KiB).
            .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: 65_536))
            .bind(host: any, port: 0)
            .map { channel in
                let upstream = bound.value
                upstream.channel = channel
                let tick = TimeAmount.nanoseconds(max(upstream.timeout.nanoseconds / 10, 10_000_000))
                upstream.sweeper = upstream.loop.scheduleRepeatedTask(initialDelay: tick, delay: tick) { _ in bound.value.sweep() }
            }
    }

    func close() {
        sweeper?.cancel()
        channel?.close(promise: nil)
        for (_, entry) in pending {
            entry.promise.fail(DNSFailure("egress-dns is stopping"))
        }
        pending.removeAll()
    }

    /// Sends what was written during the listener's burst.
    func flush() {
        guard unflushed, let channel else { return }
        unflushed = false
        channel.flush()
    }

    /// Sends `query` (a query egress-dns wrote; its id is replaced) and
    /// returns the answer, with the id it was sent with; the caller puts
    /// the workload's back. Queries waiting here are bounded by the
    /// listener's cap on queries in flight (at most 60,000 of 65,536 ids).
    func ask(_ query: ByteBuffer) -> EventLoopFuture<ByteBuffer> {
        loop.preconditionInEventLoop()
        guard let channel, let question = UpstreamAnswer.questionBytes(of: query) else {
            return loop.makeFailedFuture(DNSFailure("the upstream socket is not open"))
        }
        var id = UInt16.random(in: 0...UInt16.max, using: &generator)
        while pending[id] != nil { id &+= 1 }
        var query = query
        query.setInteger(id, at: query.readerIndex)
        let promise = loop.makePromise(of: ByteBuffer.self)
        let entry = Pending(
            promise: promise, query: query, question: question, upstream: preferred, tried: 1, deadline: .now() + timeout)
        pending[id] = entry
        send(entry, on: channel, flush: !listenerReading)
        return promise.futureResult
    }

    private func send(_ entry: Pending, on channel: Channel, flush: Bool) {
        metrics.upstreamQueries.increment()
        let envelope = AddressedEnvelope(remoteAddress: upstreams[entry.upstream], data: entry.query)
        if flush {
            channel.writeAndFlush(envelope, promise: nil)
        } else {
            channel.write(envelope, promise: nil)
            unflushed = true
        }
    }

    /// Queries past their deadline go to the next upstream, or fail.
    private func sweep() {
        let now = NIODeadline.now()
        for (id, entry) in pending where entry.deadline <= now { timedOut(id, now: now) }
        flush()
    }

    private func timedOut(_ id: UInt16, now: NIODeadline) {
        guard var entry = pending[id], let channel else { return }
        metrics.upstreamTimeouts.increment()
        if entry.upstream == preferred, upstreams.count > 1 { preferred = (preferred + 1) % upstreams.count }
        guard entry.tried < upstreams.count else {
            pending[id] = nil
            entry.promise.fail(DNSFailure("no upstream answered within \(timeout.nanoseconds / 1_000_000) ms"))
            return
        }
        entry.tried += 1
        entry.upstream = (entry.upstream + 1) % upstreams.count
        entry.deadline = now + timeout
        pending[id] = entry
        send(entry, on: channel, flush: false)
    }

    fileprivate func received(_ envelope: AddressedEnvelope<ByteBuffer>) {
        let data = envelope.data
        guard upstreams.contains(envelope.remoteAddress), let id = data.getInteger(at: data.readerIndex, as: UInt16.self),
            let entry = pending[id], UpstreamAnswer.answers(question: entry.question, data)
        else {
            metrics.upstreamUnmatched.increment()
            return
        }
        pending[id] = nil
        // Out of the 64 KiB read buffer into one of its own size: the
        // answer's id is set later, and writing into a slice of a shared
        // buffer would copy all of it (6.5% of the time, memmove, perf).
        entry.promise.succeed(ByteBuffer(bytes: data.readableBytesView))
    }

    /// Hands the socket's datagrams to the upstream.
    private final class AnswerHandler: ChannelInboundHandler {
        typealias InboundIn = AddressedEnvelope<ByteBuffer>
        let upstream: NIOLoopBound<UDPUpstream>

        init(upstream: NIOLoopBound<UDPUpstream>) {
            self.upstream = upstream
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            upstream.value.reading = true
            upstream.value.received(unwrapInboundIn(data))
        }

        func channelReadComplete(context: ChannelHandlerContext) {
            upstream.value.reading = false
            upstream.value.readBurstEnded?()
        }

        func errorCaught(context: ChannelHandlerContext, error: Error) {
            // An ICMP port unreachable surfaces as an error on the next
            // read; the query it concerns times out and fails over.
        }
    }
}
