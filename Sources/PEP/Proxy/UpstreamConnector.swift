#if canImport(Glibc)
import EnforcerCore
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Logging
import NIOCore
import NIOPosix

/// Opens the upstream of an allowed connection and hands it the bytes held
/// so far (the ClientHello and whatever followed it), the way HAProxy does:
/// its own non-blocking connect(2), then at once a send(2) of those bytes.
///
/// Between the two, the SwiftNIO channel is set up around the socket
/// (`withConnectedSocket`, done at once on this event loop). Once the hello
/// has gone, the server and then the workload do their parts of the TLS
/// handshake, and on two busy CPUs they tend to run on this one: whatever
/// the loop still does then is added to the handshake. Set up first, the
/// channel costs less (the caches are still warm from the hello), and the
/// server's answer is passed on as soon as it comes.
///
/// Where the TCP handshake completes inside connect(2) (a near upstream),
/// the send takes everything. Otherwise it finds the connection still
/// opening (EAGAIN) and the channel writes the bytes as soon as the socket
/// is writable, one event-loop turn sooner than a connect completed through
/// `ClientBootstrap` and then written. Either way the connection counts as
/// open once the kernel took every byte: an address that refuses, is
/// unreachable, or takes nothing within `timeout` fails, and the next one is
/// tried with the same bytes. Nothing is read from the upstream until then,
/// or what the server sends before the splice would reach no handler. (One
/// case escapes: a server that answers and then closes or resets before the
/// rest is written. NIO reads to the end then, reads off or not, and that
/// answer, at most an alert for a hello it has not seen whole, is lost; the
/// next address is tried.)
///
/// Measured on bench/pep-bench's network (captures on the gateway): against
/// `ClientBootstrap.connect` then write, ClientHello in to ClientHello out
/// 231 → 150 µs at the median (HAProxy 2.6 130) and CPU per connection under
/// load 318-327 → 300-316 µs. Setting the channel up before the send rather
/// than after it (and after a yield to the server), in three rounds of 150
/// sequential connections alternating with the build before, HAProxy
/// beside: the hello goes out 29-35 µs after HAProxy's from the SYN-ACK
/// (23-39 µs before it), and the server's first answer comes back 14-15 µs
/// after HAProxy's (72-111 µs after). See docs/benchmarks.md.
struct UpstreamConnector: Sendable {
    let timeout: TimeAmount
    let logger: Logger

    /// An open upstream that took every byte it was given.
    struct Upstream {
        let channel: Channel
        let address: SocketAddress
    }

    /// Why one address could not be used (logged with the address).
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Tries `addresses` in order on `eventLoop` (the workload connection's
    /// own, so that splicing never hops) until one takes `bytes`. Fails with
    /// the last address's failure. `wanted` is asked before each next
    /// address: a workload that left is not followed by more connections
    /// (they would count against nothing, `--max-connections` included).
    func open(
        _ addresses: ArraySlice<SocketAddress>, sending bytes: ByteBuffer, host: String, on eventLoop: EventLoop,
        while wanted: @escaping @Sendable () -> Bool
    ) -> EventLoopFuture<Upstream> {
        guard let address = addresses.first else {
            return eventLoop.makeFailedFuture(ChannelError.connectTimeout(timeout))
        }
        return attempt(address, sending: bytes, on: eventLoop)
            .map { Upstream(channel: $0, address: address) }
            .flatMapError { [self] error in
                logger.info("upstream connect failed", metadata: ["host": "\(host)", "address": "\(address)", "error": "\(error)"])
                guard addresses.count > 1, wanted() else { return eventLoop.makeFailedFuture(error) }
                return open(addresses.dropFirst(), sending: bytes, host: host, on: eventLoop, while: wanted)
            }
    }

    private func attempt(_ address: SocketAddress, sending bytes: ByteBuffer, on eventLoop: EventLoop) -> EventLoopFuture<Channel> {
        let fd = socket(Int32(address.protocol.rawValue), Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return eventLoop.makeFailedFuture(Self.failure("socket", errno)) }
        let connected = address.withSockAddr { connect(fd, $0, socklen_t($1)) }
        if connected != 0, errno != EINPROGRESS {
            let code = errno
            close(fd)
            return eventLoop.makeFailedFuture(Self.failure("connect", code))
        }
        // The channel owns the descriptor from here on, and closes it on
        // any failure once it exists. (Creating it fails only if fcntl(2)
        // fails on this descriptor; NIO then leaves it open, which cannot
        // happen with a socket just made.)
        return ClientBootstrap(group: eventLoop)
            .channelOption(.allowRemoteHalfClosure, value: true)
            .channelOption(.autoRead, value: false)
            .withConnectedSocket(fd)
            .flatMap { [timeout] channel in
                // Nothing is queued in the channel yet, so the bytes go first.
                // MSG_NOSIGNAL: a peer that reset already gives EPIPE, not SIGPIPE.
                let sent = bytes.withUnsafeReadableBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT)) }
                if sent == bytes.readableBytes {
                    // The caller splices in this same event-loop turn, before
                    // the first read.
                    return Self.readsOn(channel)
                }
                if sent < 0, errno != EAGAIN, errno != EWOULDBLOCK {
                    // Refused or reset during the handshake, found out at once.
                    let code = errno
                    channel.close(promise: nil)
                    return eventLoop.makeFailedFuture(Self.failure("send", code))
                }
                // Still opening, or only part taken.
                var rest = bytes
                if sent > 0 { rest.moveReaderIndex(forwardBy: sent) }
                return Self.write(rest, to: channel, within: timeout).flatMap(Self.readsOn)
            }
    }

    /// The channel, reading from now on. On its event loop the option is
    /// set at once, so the caller still splices before the first read.
    private static func readsOn(_ channel: Channel) -> EventLoopFuture<Channel> {
        channel.setOption(.autoRead, value: true).map { channel }
    }

    /// Writes what the first send could not: the connection is still
    /// opening, and the write waits for it (or fails with it).
    private static func write(_ bytes: ByteBuffer, to channel: Channel, within timeout: TimeAmount) -> EventLoopFuture<Channel> {
        let eventLoop = channel.eventLoop
        let timedOut = NIOLoopBoundBox(false, eventLoop: eventLoop)
        let timer = eventLoop.scheduleTask(in: timeout) {
            timedOut.value = true
            channel.close(promise: nil)
        }
        let written = eventLoop.makePromise(of: Void.self)
        channel.writeAndFlush(bytes, promise: written)
        return written.futureResult.flatMapThrowing {
            timer.cancel()
            return channel
        }.flatMapErrorThrowing { error in
            timer.cancel()
            channel.close(promise: nil)
            if timedOut.value {
                throw Failure(description: "no connection within \(Double(timeout.nanoseconds) / 1e9) s")
            }
            throw Failure(description: "\(error)")
        }
    }

    private static func failure(_ call: String, _ code: Int32) -> Failure {
        Failure(description: "\(call): \(String(cString: strerror(code)))")
    }
}
