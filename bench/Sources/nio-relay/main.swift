// nio-relay: a plain TCP relay written the way SwiftNIO's own examples
// join two channels, beside egress-pep in bench/pep-bench's latency figures.
// It takes the steps of an allowed connection and no others: accept, wait for
// the client's first bytes, connect to one fixed upstream with
// ClientBootstrap, send them, then join the two channels with back-pressure,
// yielding the CPU after small read bursts as egress-pep's glue does. No
// ClientHello parse, verdict, resolver, ledger, report or metric, and none of
// egress-pep's work on the connect (UpstreamConnector: connect(2) before the
// channel, the hello sent in the same turn). Why: the later segments of a
// connection cross the same kind of glue in both, so where egress-pep and
// this relay cost the same and HAProxy less, the cost is SwiftNIO's
// channel machinery, not egress-pep's policy work. It is reached on the
// gateway's own port, like HAProxy, without egress-pep's REDIRECT.
//
// Usage: nio-relay LISTEN_HOST LISTEN_PORT UPSTREAM_IP UPSTREAM_PORT [--pin]
//   --pin: one event loop pinned to each CPU the process may use, with
//   egress-pep's own CPUAffinity (otherwise one unpinned loop per core).
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Logging
import NIOCore
import NIOPosix
import PEP

/// One side of a joined pair: what it reads, its partner writes, with
/// reads paused while the partner cannot take more.
final class RelayGlue: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var partner: RelayGlue?
    private var context: ChannelHandlerContext?
    private var pendingRead = false
    private var burstBytes = 0

    static func pair() -> (RelayGlue, RelayGlue) {
        let a = RelayGlue(), b = RelayGlue()
        a.partner = b
        b.partner = a
        return (a, b)
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        partner = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        burstBytes += buffer.readableBytes
        partner?.context?.write(wrapOutboundOut(buffer), promise: nil)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        partner?.context?.flush()
        if burstBytes < 16 * 1024 { sched_yield() }
        burstBytes = 0
    }

    func channelInactive(context: ChannelHandlerContext) {
        partner?.context?.close(promise: nil)
        context.fireChannelInactive()
    }

    /// A half-close is passed on once what is queued is written.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard let event = event as? ChannelEvent, case .inputClosed = event else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        guard let partnerContext = partner?.context else { return }
        let bound = NIOLoopBound(partnerContext, eventLoop: partnerContext.eventLoop)
        partnerContext.writeAndFlush(wrapOutboundOut(partnerContext.channel.allocator.buffer(capacity: 0))).whenComplete { _ in
            bound.value.close(mode: .output, promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable, let partner, partner.pendingRead {
            partner.pendingRead = false
            partner.context?.read()
        }
        context.fireChannelWritabilityChanged()
    }

    func read(context: ChannelHandlerContext) {
        if partner?.context?.channel.isWritable ?? false {
            context.read()
        } else {
            pendingRead = true
        }
    }
}

/// Holds the client's first bytes, connects upstream, sends them and joins
/// the channels. (A half-close before the upstream is connected is not
/// passed on: the benchmark's clients never send one.)
final class FirstBytesHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    private let upstream: SocketAddress
    /// What the client sent before the upstream was connected: the read
    /// that started the connect may be followed by more in the same burst.
    private var held: ByteBuffer?

    init(upstream: SocketAddress) { self.upstream = upstream }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        guard held == nil else {
            held?.writeBuffer(&buffer)
            return
        }
        held = buffer
        let client = context.channel
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        _ = client.setOption(.autoRead, value: false)
        ClientBootstrap(group: context.eventLoop)
            .channelOption(.allowRemoteHalfClosure, value: true)
            .connect(to: upstream)
            .whenComplete { result in
                guard case .success(let server) = result else {
                    client.close(promise: nil)
                    return
                }
                let (down, up) = RelayGlue.pair()
                if let first = bound.value.held { server.writeAndFlush(first, promise: nil) }
                do {
                    try server.pipeline.syncOperations.addHandler(up)
                    try client.pipeline.syncOperations.addHandler(down)
                    client.pipeline.syncOperations.removeHandler(bound.value, promise: nil)
                } catch {
                    client.close(promise: nil)
                    server.close(promise: nil)
                    return
                }
                _ = client.setOption(.autoRead, value: true)
            }
    }
}

let arguments = CommandLine.arguments
guard arguments.count >= 5, let listenPort = Int(arguments[2]), let upstreamPort = Int(arguments[4]) else {
    print("usage: nio-relay LISTEN_HOST LISTEN_PORT UPSTREAM_IP UPSTREAM_PORT [--pin]")
    exit(2)
}
let upstream = try SocketAddress(ipAddress: arguments[3], port: upstreamPort)
let group =
    arguments.dropFirst(5).contains("--pin")
    ? CPUAffinity.pinnedGroup(threads: nil, logger: Logger(label: "nio-relay"))
    : MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
// One listening socket per loop (SO_REUSEPORT), each keeping its
// connections, as egress-pep does.
for eventLoop in group.makeIterator() {
    _ = try ServerBootstrap(group: eventLoop, childGroup: eventLoop)
        .serverChannelOption(.backlog, value: 1024)
        .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
        .serverChannelOption(.socket(SocketOptionLevel(SOL_SOCKET), SocketOptionName(SO_REUSEPORT)), value: 1)
        .childChannelOption(.allowRemoteHalfClosure, value: true)
        .childChannelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(FirstBytesHandler(upstream: upstream))
            }
        }
        .bind(host: arguments[1], port: listenPort).wait()
}
// To standard error, which is not buffered: pep-bench keeps it in a log.
let ready = "nio-relay: listening on \(arguments[1]):\(listenPort), relaying to \(upstream)\n"
_ = ready.withCString { write(2, $0, strlen($0)) }
while true { pause() }
