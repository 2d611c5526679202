import NIOCore
import NIOPosix

/// Queries sent to the upstream resolvers over TCP (RFC 7766 framing: a
/// two-byte length before each message), one connection per query: what a
/// workload asks over TCP, typically again after a truncated UDP answer.
/// Each upstream has `timeout` to connect and answer; then the next is tried.
struct TCPUpstream: Sendable {
    let upstreams: [SocketAddress]
    let timeout: TimeAmount
    let metrics: DNSMetrics

    /// The answer to `query`; it must be a response to the query's id and
    /// question, as over UDP, or the next upstream is tried.
    func ask(_ query: ByteBuffer, on loop: EventLoop) -> EventLoopFuture<ByteBuffer> {
        ask(query, on: loop, index: 0)
    }

    private func ask(_ query: ByteBuffer, on loop: EventLoop, index: Int) -> EventLoopFuture<ByteBuffer> {
        metrics.upstreamQueries.increment()
        return once(query, to: upstreams[index], on: loop).flatMapThrowing { answer in
            guard UpstreamAnswer.answers(query, answer) else {
                metrics.upstreamUnmatched.increment()
                throw DNSFailure("\(upstreams[index]) answered over TCP with another id or question")
            }
            return answer
        }.flatMapError { error in
            metrics.upstreamTimeouts.increment()
            guard index + 1 < upstreams.count else { return loop.makeFailedFuture(error) }
            return ask(query, on: loop, index: index + 1)
        }
    }

    private func once(_ query: ByteBuffer, to address: SocketAddress, on loop: EventLoop) -> EventLoopFuture<ByteBuffer> {
        let promise = loop.makePromise(of: ByteBuffer.self)
        let deadline = loop.scheduleTask(in: timeout) {
            promise.fail(DNSFailure("\(address) did not answer over TCP within \(timeout.nanoseconds / 1_000_000) ms"))
        }
        promise.futureResult.whenComplete { _ in deadline.cancel() }
        ClientBootstrap(group: loop)
            .connectTimeout(timeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LengthPrefixedMessages()))
                    try channel.pipeline.syncOperations.addHandler(OneAnswer(promise: promise))
                }
            }
            .connect(to: address)
            .whenComplete { result in
                switch result {
                case .success(let channel):
                    channel.writeAndFlush(LengthPrefixedMessages.framed(query, allocator: channel.allocator), promise: nil)
                    promise.futureResult.whenComplete { _ in channel.close(promise: nil) }
                case .failure(let error):
                    promise.fail(error)
                }
            }
        return promise.futureResult
    }

    /// Takes the first message and completes the promise; a connection
    /// closed first fails it.
    private final class OneAnswer: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        let promise: EventLoopPromise<ByteBuffer>

        init(promise: EventLoopPromise<ByteBuffer>) {
            self.promise = promise
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            promise.succeed(unwrapInboundIn(data))
        }

        func channelInactive(context: ChannelHandlerContext) {
            promise.fail(DNSFailure("the upstream closed the TCP connection without an answer"))
        }

        func errorCaught(context: ChannelHandlerContext, error: Error) {
            promise.fail(error)
            context.close(promise: nil)
        }
    }
}

/// RFC 7766 framing: each message after its two-byte length. A message is
/// at most 65,535 bytes by construction; one of fewer than 12 (no header)
/// is passed on for the reader to refuse.
struct LengthPrefixedMessages: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt16.self),
            buffer.readableBytes >= 2 + Int(length)
        else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: 2)
        context.fireChannelRead(wrapInboundOut(buffer.readSlice(length: Int(length))!))
        return .continue
    }

    /// `message` after its length. A message is at most 65,535 bytes: an
    /// answer egress-dns wrote again larger than that is SERVFAIL before here.
    static func framed(_ message: ByteBuffer, allocator: ByteBufferAllocator) -> ByteBuffer {
        var framed = allocator.buffer(capacity: message.readableBytes + 2)
        framed.writeInteger(UInt16(message.readableBytes))
        framed.writeImmutableBuffer(message)
        return framed
    }
}
