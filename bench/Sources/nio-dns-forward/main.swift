// A plain SwiftNIO DNS forwarder, beside egress-dns in bench/dns-bench: a
// UDP listener that sends each datagram on to one upstream with a fresh id
// and sends the answer back with the workload's. No parsing, no decision,
// no records, no timeouts or caps: what forwarding on SwiftNIO costs here,
// so that what egress-dns adds can be told from what its framework costs.
//
// Usage: nio-dns-forward LISTEN_IP:PORT UPSTREAM_IP:PORT
import NIOCore
import NIOPosix
#if canImport(Glibc)
import Glibc
#endif

let arguments = CommandLine.arguments
guard arguments.count == 3 else {
    print("usage: nio-dns-forward LISTEN_IP:PORT UPSTREAM_IP:PORT")
    exit(64)
}
func address(_ text: String) -> SocketAddress {
    let parts = text.split(separator: ":")
    return try! SocketAddress(ipAddress: String(parts[0]), port: Int(parts[1])!)
}
let listen = address(arguments[1])
let upstream = address(arguments[2])

/// The listener and the upstream socket of one event loop, and who waits for
/// which id. Used on that loop only (unchecked: set up from the main thread
/// before any datagram arrives).
final class Forwarder: @unchecked Sendable {
    var listener: Channel?
    var upstreamChannel: Channel?
    var waiting: [UInt16: (client: SocketAddress, id: UInt16)] = [:]
    var next: UInt16 = 0
}

final class ListenerHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    let forwarder: Forwarder
    init(_ forwarder: Forwarder) { self.forwarder = forwarder }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var envelope = unwrapInboundIn(data)
        guard let id = envelope.data.getInteger(at: envelope.data.readerIndex, as: UInt16.self) else { return }
        forwarder.next &+= 1
        forwarder.waiting[forwarder.next] = (envelope.remoteAddress, id)
        envelope.data.setInteger(forwarder.next, at: envelope.data.readerIndex)
        forwarder.upstreamChannel?.writeAndFlush(AddressedEnvelope(remoteAddress: upstream, data: envelope.data), promise: nil)
    }
}

final class UpstreamHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    let forwarder: Forwarder
    init(_ forwarder: Forwarder) { self.forwarder = forwarder }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var envelope = unwrapInboundIn(data)
        guard let id = envelope.data.getInteger(at: envelope.data.readerIndex, as: UInt16.self),
            let waiter = forwarder.waiting.removeValue(forKey: id)
        else { return }
        envelope.data.setInteger(waiter.id, at: envelope.data.readerIndex)
        forwarder.listener?.writeAndFlush(AddressedEnvelope(remoteAddress: waiter.client, data: envelope.data), promise: nil)
    }
}

let threads = Int(String(cString: getenv("THREADS") ?? strdup(""))) ?? System.coreCount
let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
for loop in group.makeIterator() {
    let forwarder = Forwarder()
    forwarder.upstreamChannel = try DatagramBootstrap(group: loop)
        .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: 65_536))
        .channelInitializer { channel in
            channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(UpstreamHandler(forwarder)) }
        }
        .bind(host: "0.0.0.0", port: 0).wait()
    forwarder.listener = try DatagramBootstrap(group: loop)
        .channelOption(.socketOption(.so_reuseaddr), value: 1)
        .channelOption(.socket(SocketOptionLevel(SOL_SOCKET), SocketOptionName(SO_REUSEPORT)), value: 1)
        .channelInitializer { channel in
            channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(ListenerHandler(forwarder)) }
        }
        .bind(to: listen).wait()
}
print("nio-dns-forward: \(listen) -> \(upstream), \(threads) threads")
while true { sleep(3600) }
