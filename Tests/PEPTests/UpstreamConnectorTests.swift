import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing

@testable import EnforcerCore
@testable import PEP

/// `UpstreamConnector` against real upstreams on loopback sockets. The
/// end-to-end test covers refused, slow and silent upstreams through the
/// whole enforcer; what it cannot reach is held bytes larger than what a new
/// connection's socket takes at once (a ClientHello is at most 64 KiB), so
/// that the channel has to write the rest while the server may already be
/// answering.
@Suite struct UpstreamConnectorTests {
    static let logger = Logger(label: "test")

    /// The upstream: keeps every byte it reads, and sends `greeting` as soon
    /// as a connection opens, before it reads anything. Reading starts only
    /// when `startReading()` is called, so that the client's write has to wait.
    final class Upstream: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer

        let greeting: String
        let readsAtOnce: Bool
        private let state = NIOLockedValueBox<(received: [UInt8], channel: Channel?)>(([], nil))

        init(greeting: String, readsAtOnce: Bool = false) {
            self.greeting = greeting
            self.readsAtOnce = readsAtOnce
        }

        var received: [UInt8] { state.withLockedValue { $0.received } }
        var receivedCount: Int { state.withLockedValue { $0.received.count } }

        func channelActive(context: ChannelHandlerContext) {
            state.withLockedValue { $0.channel = context.channel }
            context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(string: greeting)), promise: nil)
            if readsAtOnce { context.channel.setOption(.autoRead, value: true).whenSuccess {} }
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let bytes = unwrapInboundIn(data).readableBytesView
            state.withLockedValue { $0.received.append(contentsOf: bytes) }
        }

        func startReading() {
            state.withLockedValue { $0.channel }?.setOption(.autoRead, value: true).whenSuccess {}
        }

        var connected: Bool { state.withLockedValue { $0.channel != nil } }
    }

    /// Collects what the upstream sends, once spliced.
    final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        private let bytes = NIOLockedValueBox<[UInt8]>([])
        var text: String { String(decoding: bytes.withLockedValue { $0 }, as: UTF8.self) }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let chunk = unwrapInboundIn(data).readableBytesView
            bytes.withLockedValue { $0.append(contentsOf: chunk) }
        }
    }

    /// A listener whose accepted connections read nothing until told, with a
    /// receive buffer of a few KiB: the window closes almost at once.
    static func listen(_ upstream: Upstream, on group: EventLoopGroup) async throws -> Channel {
        try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.socketOption(.so_rcvbuf), value: 4096)
            .childChannelOption(.autoRead, value: false)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(upstream) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    /// 8 MiB, more than any socket buffer here takes (tcp_wmem's largest is
    /// 4 MiB): a block of a prime length repeated, so that a chunk lost,
    /// doubled or moved shows. Built by copying, not byte by byte: a debug
    /// build's loop over 8 Mi bytes took the CPU the timing tests beside it need.
    static let large: [UInt8] = {
        let block = (0..<4099).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 8) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(8 << 20)
        while bytes.count < 8 << 20 { bytes.append(contentsOf: block.prefix((8 << 20) - bytes.count)) }
        return bytes
    }()

    @Test func heldBytesLargerThanTheSocketTakesAllArriveAndWhatTheServerSentMeanwhileIsKept() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let upstream = Upstream(greeting: "server speaks first")
        let server = try await Self.listen(upstream, on: group)
        let loop = group.next()
        let connector = UpstreamConnector(timeout: .seconds(10), logger: Self.logger)
        let collector = Collector()
        var bytes = ByteBufferAllocator().buffer(capacity: Self.large.count)
        bytes.writeBytes(Self.large)

        let opened = connector.open([server.localAddress!], sending: bytes, host: "upstream.test", on: loop) { true }
            .flatMapThrowing { upstream -> SocketAddress in
                // In the same event-loop turn as the open completes, as the
                // splice does: nothing read before this may be lost.
                try upstream.channel.pipeline.syncOperations.addHandler(collector)
                return upstream.address
            }
        let done = NIOLockedValueBox(false)
        opened.whenComplete { _ in done.withLockedValue { $0 = true } }
        // The upstream reads nothing yet: its window is shut, the kernel
        // holds a few MiB at most, and the rest waits in the channel.
        for _ in 0..<500 where !upstream.connected { try await Task.sleep(for: .milliseconds(10)) }
        #expect(upstream.connected)
        try await Task.sleep(for: .milliseconds(300))
        #expect(!done.withLockedValue { $0 }, "the open should still be writing: the upstream has read nothing")

        upstream.startReading()
        let address = try await opened.get()
        #expect(address == server.localAddress)
        for _ in 0..<1000 where upstream.receivedCount < Self.large.count { try await Task.sleep(for: .milliseconds(10)) }
        let received = upstream.received
        #expect(received.count == Self.large.count)
        // Compared as Data (memcmp): an element-wise comparison is slow in a debug build.
        #expect(Data(received) == Data(Self.large), "the bytes arrived changed or out of order")
        for _ in 0..<500 where collector.text.isEmpty { try await Task.sleep(for: .milliseconds(10)) }
        #expect(collector.text == "server speaks first")

        try await server.close()
        try await group.shutdownGracefully()
    }

    @Test func aRefusedAddressFailsOverToTheNextWithTheSameBytes() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let upstream = Upstream(greeting: "hello", readsAtOnce: true)
        let server = try await Self.listen(upstream, on: group)
        // A port nothing listens on: bound, then closed.
        let closed = try await ServerBootstrap(group: group).bind(host: "127.0.0.1", port: 0).get()
        let refusing = closed.localAddress!
        try await closed.close()

        let connector = UpstreamConnector(timeout: .seconds(5), logger: Self.logger)
        var bytes = ByteBufferAllocator().buffer(capacity: 16)
        bytes.writeString("client hello")
        let asked = NIOLockedValueBox(0)
        let upstreamChannel = try await connector.open(
            [refusing, server.localAddress!], sending: bytes, host: "upstream.test", on: group.next()
        ) {
            asked.withLockedValue { $0 += 1 }
            return true
        }.get()
        #expect(upstreamChannel.address == server.localAddress)
        #expect(asked.withLockedValue { $0 } == 1)
        for _ in 0..<500 where upstream.receivedCount < 12 { try await Task.sleep(for: .milliseconds(10)) }
        #expect(String(decoding: upstream.received, as: UTF8.self) == "client hello")

        // A workload that has gone is not followed to the next address.
        await #expect(throws: (any Error).self) {
            try await connector.open([refusing, server.localAddress!], sending: bytes, host: "upstream.test", on: group.next()) {
                false
            }.get()
        }
        try await upstreamChannel.channel.close()
        try await server.close()
        try await group.shutdownGracefully()
    }
}
