import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import NIOTLS

/// Opens the TLS connection a plain-HTTP request is carried on: to one of
/// the host's own addresses (never where the workload was going), with the
/// host as SNI, the certificate verified against the system trust store
/// plus `--upstream-ca` and the name checked, TLS 1.2 or later. Returns
/// once the handshake is done, so that a failure can still be told to the
/// workload (502, naming the verification error).
struct OriginUpstream: Sendable {
    let tls: NIOSSLContext
    let connectTimeout: TimeAmount
    let logger: Logger

    struct Failure: Error, CustomStringConvertible {
        /// `tls`: the handshake failed (certificate, name, version); `connect`: no address took the connection.
        let stage: String
        let description: String
    }

    /// The TLS client settings, once per process.
    static func context(extraCA: String?) throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        configuration.certificateVerification = .fullVerification
        if let extraCA { configuration.additionalTrustRoots = [.file(extraCA)] }
        return try NIOSSLContext(configuration: configuration)
    }

    /// The first of `addresses` that connects and completes the handshake;
    /// its pipeline speaks HTTP/1.1 and hands responses to `responses`.
    /// `wanted` is asked before each next address, as `UpstreamConnector`
    /// does: a workload that left is not followed by more connections.
    func open(
        _ addresses: ArraySlice<SocketAddress>, host: String, on eventLoop: EventLoop,
        while wanted: @escaping @Sendable () -> Bool, responses: @escaping @Sendable () -> ChannelHandler
    ) -> EventLoopFuture<(Channel, SocketAddress)> {
        guard let address = addresses.first else {
            return eventLoop.makeFailedFuture(Failure(stage: "connect", description: "no address to connect to"))
        }
        return attempt(address, host: host, on: eventLoop, responses: responses).map { ($0, address) }.flatMapError { [self] error in
            logger.info("upstream connect failed", metadata: ["host": "\(host)", "address": "\(address)", "error": "\(error)"])
            // A TLS failure is the host's own answer: another address would give the same.
            if let failure = error as? Failure, failure.stage == "tls" { return eventLoop.makeFailedFuture(failure) }
            guard addresses.count > 1, wanted() else { return eventLoop.makeFailedFuture(error) }
            return open(addresses.dropFirst(), host: host, on: eventLoop, while: wanted, responses: responses)
        }
    }

    private func attempt(
        _ address: SocketAddress, host: String, on eventLoop: EventLoop, responses: @escaping @Sendable () -> ChannelHandler
    ) -> EventLoopFuture<Channel> {
        let handshake = eventLoop.makePromise(of: Void.self)
        let tls = self.tls
        return ClientBootstrap(group: eventLoop)
            .connectTimeout(connectTimeout)
            .channelOption(.allowRemoteHalfClosure, value: false)
            .channelInitializer { channel in
                do {
                    let sync = channel.pipeline.syncOperations
                    // An IP literal is not a server name: no SNI, and the certificate must name the address.
                    let sni = (try? SocketAddress(ipAddress: host, port: 0)) == nil ? host : nil
                    try sync.addHandler(try NIOSSLClientHandler(context: tls, serverHostname: sni))
                    try sync.addHandler(HandshakeWatcher(promise: handshake))
                    try sync.addHTTPClientHandlers(leftOverBytesStrategy: .forwardBytes)
                    try sync.addHandler(responses())
                    return channel.eventLoop.makeSucceededVoidFuture()
                } catch {
                    return channel.eventLoop.makeFailedFuture(error)
                }
            }
            .connect(to: address)
            .flatMapError { error in
                handshake.fail(error)
                return eventLoop.makeFailedFuture(Failure(stage: "connect", description: "\(address): \(error)"))
            }
            .flatMap { [connectTimeout] channel in
                // The handshake has as long as the connection had: a server
                // that accepts and never answers must not hold the request.
                let timer = eventLoop.scheduleTask(in: connectTimeout) {
                    handshake.fail(Failure(stage: "tls", description: "no TLS handshake within \(connectTimeout.nanoseconds / 1_000_000_000) s"))
                    channel.close(promise: nil)
                }
                handshake.futureResult.whenComplete { _ in timer.cancel() }
                return handshake.futureResult.map { channel }.flatMapError { error in
                    channel.close(promise: nil)
                    return eventLoop.makeFailedFuture(Failure(stage: "tls", description: Self.explain(error)))
                }
            }
    }

    /// A TLS failure in words a person reads in a 502.
    static func explain(_ error: Error) -> String {
        if let failure = error as? Failure { return failure.description }
        if let extra = error as? NIOSSLExtraError, extra == .failedToValidateHostname {
            return "the certificate does not name this host"
        }
        if let ssl = error as? NIOSSLError, case .handshakeFailed(let inner) = ssl {
            let text = "\(inner)"
            if text.contains("CERTIFICATE_VERIFY_FAILED") { return "the certificate could not be verified (\(text))" }
            return "the TLS handshake failed (\(text))"
        }
        return "the TLS handshake failed (\(error))"
    }
}

/// Fulfils the promise when the TLS handshake completes, fails it on the
/// first error before that, and then steps aside.
private final class HandshakeWatcher: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    private let promise: EventLoopPromise<Void>
    private var done = false

    init(promise: EventLoopPromise<Void>) {
        self.promise = promise
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if !done, case TLSUserEvent.handshakeCompleted = event {
            done = true
            promise.succeed()
            context.fireUserInboundEventTriggered(event)
            // Every later read and event would pass through it for nothing.
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if !done {
            done = true
            promise.fail(error)
        }
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !done {
            done = true
            promise.fail(ChannelError.eof)
        }
        context.fireChannelInactive()
    }
}
