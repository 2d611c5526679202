// nio-http-origin: plain HTTP in, TLS out, written the plain SwiftNIO way,
// beside egress-pep --http-listen in bench/http-origin-bench. It takes the
// steps of an allowed request and no others: SwiftNIO's HTTP/1.1 server
// pipeline (with pipelining assistance), one upstream per client connection
// opened at its first request with NIOSSL (the Host as SNI, verification
// against one CA file, the name checked), the request's parts written
// upstream and the response's parts back, flushed at the end of each read.
// No screening, verdict, resolver, record, metric or timeout. Why: where
// egress-pep and this baseline cost the same and HAProxy less, the cost is
// SwiftNIO's (its HTTP codec, NIOSSL, the channel machinery), not
// egress-pep's policy work.
//
// Usage: nio-http-origin LISTEN_HOST LISTEN_PORT UPSTREAM_IP UPSTREAM_PORT CA_FILE [THREADS]
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

final class PlainOrigin: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let upstreamAddress: SocketAddress
    let tls: NIOSSLContext
    private var upstream: Channel?
    private var held: [HTTPClientRequestPart] = []
    private var context: ChannelHandlerContext?

    init(upstreamAddress: SocketAddress, tls: NIOSSLContext) {
        self.upstreamAddress = upstreamAddress
        self.tls = tls
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { upstream?.close(promise: nil) }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part: HTTPClientRequestPart
        switch unwrapInboundIn(data) {
        case .head(let head):
            part = .head(head)
            if upstream == nil && held.isEmpty { connect(host: head.headers["host"].first ?? "", context: context) }
        case .body(let body): part = .body(.byteBuffer(body))
        case .end(let trailers): part = .end(trailers)
        }
        if let upstream { upstream.write(part, promise: nil) } else { held.append(part) }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        upstream?.flush()
    }

    private func connect(host: String, context: ChannelHandlerContext) {
        let sink = NIOLoopBound(self, eventLoop: context.eventLoop)
        let tls = self.tls
        ClientBootstrap(group: context.eventLoop).channelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                let sync = channel.pipeline.syncOperations
                try sync.addHandler(try NIOSSLClientHandler(context: tls, serverHostname: host))
                try sync.addHTTPClientHandlers()
                try sync.addHandler(ResponseRelay(sink: sink))
            }
        }.connect(to: upstreamAddress).whenComplete { result in
            let origin = sink.value
            switch result {
            case .success(let channel):
                origin.upstream = channel
                for part in origin.held { channel.write(part, promise: nil) }
                origin.held = []
                channel.flush()
            case .failure:
                origin.context?.close(promise: nil)
            }
        }
    }

    func response(_ part: HTTPClientResponsePart) {
        guard let context else { return }
        switch part {
        case .head(let head): context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: head.status, headers: head.headers))), promise: nil)
        case .body(let body): context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        case .end(let trailers): context.write(wrapOutboundOut(.end(trailers)), promise: nil)
        }
    }

    func responseReadComplete() { context?.flush() }
}

final class ResponseRelay: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    let sink: NIOLoopBound<PlainOrigin>
    init(sink: NIOLoopBound<PlainOrigin>) { self.sink = sink }
    func channelRead(context: ChannelHandlerContext, data: NIOAny) { sink.value.response(unwrapInboundIn(data)) }
    func channelReadComplete(context: ChannelHandlerContext) { sink.value.responseReadComplete() }
    func channelInactive(context: ChannelHandlerContext) { sink.value.responseReadComplete() }
}

let arguments = CommandLine.arguments
guard arguments.count >= 6, let port = Int(arguments[2]), let upstreamPort = Int(arguments[4]) else {
    print("usage: nio-http-origin LISTEN_HOST LISTEN_PORT UPSTREAM_IP UPSTREAM_PORT CA_FILE [THREADS]")
    exit(64)
}
var configuration = TLSConfiguration.makeClientConfiguration()
configuration.trustRoots = .file(arguments[5])
configuration.minimumTLSVersion = .tlsv12
let tls = try NIOSSLContext(configuration: configuration)
let upstream = try SocketAddress(ipAddress: arguments[3], port: upstreamPort)
let group = MultiThreadedEventLoopGroup(numberOfThreads: arguments.count > 6 ? Int(arguments[6]) ?? 2 : 2)
let server = try ServerBootstrap(group: group)
    .serverChannelOption(.backlog, value: 1024)
    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
    .childChannelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.configureHTTPServerPipeline(withPipeliningAssistance: true)
            try channel.pipeline.syncOperations.addHandler(PlainOrigin(upstreamAddress: upstream, tls: tls))
        }
    }
    .bind(host: arguments[1], port: port).wait()
print("listening on \(server.localAddress!)")
try server.closeFuture.wait()
