import ConnectionLimits
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import ServiceLifecycle

/// The listeners: on each event loop a UDP socket on the listen address
/// (SO_REUSEPORT: the kernel spreads workloads' queries over them) with its
/// own socket to the upstreams, and a TCP listener. Stops on graceful
/// shutdown: the sockets close, and queries waiting on an upstream fail.
final class DNSServer: Service, Sendable {
    struct Settings: Sendable {
        var listen: SocketAddress
        var upstreams: [SocketAddress]
        var upstreamTimeout: TimeAmount
        var maxInflight: Int
        var maxInflightPerSource: Int
        var tcpLimits: ConnectionAdmission.Limits
        var tcpIdleTimeout: TimeAmount
    }

    private let settings: Settings
    private let answerer: QueryAnswerer
    private let group: EventLoopGroup
    private let logger: Logger
    private let bound = NIOLockedValueBox<[SocketAddress]>([])

    init(settings: Settings, answerer: QueryAnswerer, group: EventLoopGroup, logger: Logger) {
        self.settings = settings
        self.answerer = answerer
        self.group = group
        self.logger = logger
    }

    /// The addresses listened on (UDP and TCP share them); empty until bound.
    var boundAddresses: [SocketAddress] { bound.withLockedValue { $0 } }

    func run() async throws {
        var channels: [Channel] = []
        var upstreams: [NIOLoopBound<UDPUpstream>] = []
        var address = settings.listen
        let admission = ConnectionAdmission(settings.tcpLimits)
        let tcpUpstream = TCPUpstream(upstreams: settings.upstreams, timeout: settings.upstreamTimeout, metrics: answerer.metrics)
        do {
            for loop in group.makeIterator() {
                let upstream = try await loop.submit {
                    NIOLoopBound(
                        UDPUpstream(
                            loop: loop, upstreams: self.settings.upstreams, timeout: self.settings.upstreamTimeout,
                            metrics: self.answerer.metrics), eventLoop: loop)
                }.get()
                try await loop.flatSubmit { upstream.value.start() }.get()
                upstreams.append(upstream)
                let udp = try await DatagramBootstrap(group: loop)
                    .channelOption(.socketOption(.so_reuseaddr), value: 1)
                    .channelOption(.socket(SocketOptionLevel(SOL_SOCKET), SocketOptionName(SO_REUSEPORT)), value: 1)
                    // recvmmsg: up to 16 queries per system call under load.
                    // NIO splits one buffer among them: 4 KiB each, the
                    // most a query needs (a longer one is cut, and FORMERR).
                    .channelOption(.datagramVectorReadMessageCount, value: 16)
                    .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: 16 * 4096))
                    .channelInitializer { [settings, answerer] channel in
                        channel.eventLoop.makeCompletedFuture {
                            try channel.pipeline.syncOperations.addHandler(
                                UDPQueryHandler(
                                    answerer: answerer, upstream: upstream.value, maxInflight: settings.maxInflight,
                                    maxInflightPerSource: settings.maxInflightPerSource))
                        }
                    }
                    .bind(to: address).get()
                // Port 0 picks a port once; the other sockets share it.
                if address.port == 0, let port = udp.localAddress?.port { address.port = port }
                channels.append(udp)
                let tcp = try await ServerBootstrap(group: loop, childGroup: loop)
                    .serverChannelOption(.backlog, value: 256)
                    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                    .serverChannelOption(.socket(SocketOptionLevel(SOL_SOCKET), SocketOptionName(SO_REUSEPORT)), value: 1)
                    .childChannelInitializer { [settings, answerer] channel in
                        channel.eventLoop.makeCompletedFuture {
                            let sync = channel.pipeline.syncOperations
                            try sync.addHandler(IdleStateHandler(readTimeout: settings.tcpIdleTimeout))
                            try sync.addHandler(ByteToMessageHandler(LengthPrefixedMessages()))
                            try sync.addHandler(TCPQueryHandler(answerer: answerer, upstream: tcpUpstream, admission: admission))
                        }
                    }
                    .bind(to: address).get()
                channels.append(tcp)
            }
        } catch {
            for channel in channels { try? await channel.close() }
            throw error
        }
        bound.withLockedValue { $0 = [address] }
        logger.notice(
            "listening (UDP and TCP)",
            metadata: ["address": "\(address)", "upstreams": "\(settings.upstreams.map(\.description).joined(separator: ", "))"])
        try? await gracefulShutdown()
        for channel in channels { try? await channel.close() }
        for upstream in upstreams { try? await upstream.eventLoop.submit { upstream.value.close() }.get() }
        logger.notice("stopped listening")
    }
}
