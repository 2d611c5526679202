import NIOCore
import NIOEmbedded
import Testing

@testable import EnforcerCore
@testable import PEP

/// The splice between a workload's channel and its upstream, on two
/// embedded channels that share one embedded event loop: no sockets, no
/// root, every step driven by the test.
@Suite struct GlueHandlerTests {
    /// Records the reads that reach the head of its channel's pipeline.
    final class ReadRecorder: ChannelOutboundHandler {
        typealias OutboundIn = ByteBuffer
        var reads = 0
        func read(context: ChannelHandlerContext) {
            reads += 1
            context.read()
        }
    }

    struct Pair {
        let loop = EmbeddedEventLoop()
        let ledger = ConnectionLedger(sourceIP: "198.18.0.2", originalDestination: nil, port: 443, wallClockMs: 0)
        let workload: EmbeddedChannel
        let upstream: EmbeddedChannel
        let workloadReads = ReadRecorder()

        init() throws {
            workload = EmbeddedChannel(loop: loop)
            upstream = EmbeddedChannel(loop: loop)
            let sweeper = DeadlineSweeper(eventLoop: loop, tick: .seconds(1))
            let (down, up) = GlueHandler.matchedPair(ledger: ledger, idleTimeout: .seconds(60), sweeper: sweeper)
            try workload.pipeline.syncOperations.addHandler(workloadReads)
            try workload.pipeline.syncOperations.addHandler(down)
            try upstream.pipeline.syncOperations.addHandler(up)
            try workload.connect(to: SocketAddress(ipAddress: "198.18.0.2", port: 40000)).wait()
            try upstream.connect(to: SocketAddress(ipAddress: "198.18.3.10", port: 443)).wait()
        }

        func buffer(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }
    }

    @Test func bytesGoAcrossBothWaysAndAreCounted() throws {
        let pair = try Pair()
        try pair.workload.writeInbound(pair.buffer("client hello"))
        pair.workload.pipeline.fireChannelReadComplete()
        #expect(try pair.upstream.readOutbound(as: ByteBuffer.self) == pair.buffer("client hello"))
        try pair.upstream.writeInbound(pair.buffer("server hello!"))
        pair.upstream.pipeline.fireChannelReadComplete()
        #expect(try pair.workload.readOutbound(as: ByteBuffer.self) == pair.buffer("server hello!"))
        #expect(pair.ledger.bytesUp == 12)
        #expect(pair.ledger.bytesDown == 13)
    }

    @Test func closingEitherSideClosesTheOther() throws {
        let pair = try Pair()
        _ = try pair.upstream.finish()
        pair.loop.run()
        #expect(!pair.workload.isActive)

        let other = try Pair()
        _ = try other.workload.finish()
        other.loop.run()
        #expect(!other.upstream.isActive)
    }

    /// Back-pressure: while the upstream cannot take more, the workload's
    /// side is not read; once it can, the read that waited goes on.
    @Test func aSideIsNotReadWhileTheOtherCannotTakeMore() throws {
        let pair = try Pair()
        let before = pair.workloadReads.reads
        pair.upstream.isWritable = false
        pair.workload.read()
        #expect(pair.workloadReads.reads == before, "read while the upstream was not writable")
        pair.upstream.isWritable = true
        pair.upstream.pipeline.fireChannelWritabilityChanged()
        #expect(pair.workloadReads.reads == before + 1)
    }

    @Test func anErrorClosesThePair() throws {
        let pair = try Pair()
        pair.workload.pipeline.fireErrorCaught(ChannelError.connectTimeout(.seconds(1)))
        pair.loop.run()
        #expect(!pair.workload.isActive)
        #expect(!pair.upstream.isActive)
    }
}
