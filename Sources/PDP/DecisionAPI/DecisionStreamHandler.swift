import Foundation
import NIOCore
import NIOConcurrencyHelpers
import NIOHTTP1

/// Serves one HTTP/2 stream of the decision API (as HTTP/1 parts, through
/// `HTTP2FramePayloadToHTTP1ServerCodec`). A stream that goes wrong answers
/// with an error and ends; the other streams of its connection never notice.
final class DecisionStreamHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    static let maxDecisionBody = 64 * 1024
    static let maxAccessBody = 8 * 1024 * 1024

    private let engine: DecisionEngine
    private let authenticator: EnforcerAuthenticator
    private let connection: EnforcerAuthenticator.Connection
    private let cache: EnforcerAuthenticator.ConnectionCache
    private let inFlight: InFlightCounter
    private var head: HTTPRequestHead?
    private var body: ByteBuffer?
    private var tooLarge = false
    private var watch: UUID?

    init(
        engine: DecisionEngine, authenticator: EnforcerAuthenticator, connection: EnforcerAuthenticator.Connection,
        cache: EnforcerAuthenticator.ConnectionCache, inFlight: InFlightCounter
    ) {
        self.cache = cache
        self.engine = engine
        self.authenticator = authenticator
        self.connection = connection
        self.inFlight = inFlight
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body = nil
            tooLarge = false
        case .body(var chunk):
            guard !tooLarge else { return }
            let limit = head?.uri == "/v1/access" ? Self.maxAccessBody : Self.maxDecisionBody
            if (body?.readableBytes ?? 0) + chunk.readableBytes > limit {
                tooLarge = true
                body = nil
                return
            }
            if body == nil { body = chunk } else { body!.writeBuffer(&chunk) }
        case .end:
            guard let head else { return }
            self.head = nil
            handle(head, context: context)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        stopWatching()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) { stopWatching() }

    private func stopWatching() {
        if let watch {
            engine.watchers.unsubscribe(watch)
            self.watch = nil
        }
    }

    // MARK: Routing

    private func handle(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        let enforcer: String
        switch connection {
        case .trusted(let name):
            enforcer = name
        case .needsToken:
            guard let name = authenticator.enforcer(authorization: head.headers.first(name: "authorization"), cache: cache) else {
                return respond(context, .unauthorized, error: "a bearer token of role 'pep' is required")
            }
            enforcer = name
        }
        let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
        switch path {
        case "/v1/decisions":
            guard head.method == .POST else { return methodNotAllowed(context, allow: "POST") }
            guard let body = checkedBody(context, head) else { return }
            decide(body, enforcer: enforcer, context: context)
        case "/v1/access":
            guard head.method == .POST else { return methodNotAllowed(context, allow: "POST") }
            guard let body = checkedBody(context, head) else { return }
            access(body, enforcer: enforcer, context: context)
        case "/v1/watch":
            guard head.method == .GET else { return methodNotAllowed(context, allow: "GET") }
            startWatching(context)
        default:
            if let version = path.split(separator: "/").first, version != "v1", version.hasPrefix("v") {
                return respond(context, .notFound, error: "unknown API version '\(version)'; this service speaks v1")
            }
            respond(context, .notFound, error: "no such endpoint: \(path); the decision API has POST /v1/decisions, GET /v1/watch and POST /v1/access")
        }
    }

    /// The body, or `nil` after answering why it cannot be used.
    private func checkedBody(_ context: ChannelHandlerContext, _ head: HTTPRequestHead) -> Data? {
        if tooLarge {
            let limit = head.uri == "/v1/access" ? Self.maxAccessBody : Self.maxDecisionBody
            respond(context, .payloadTooLarge, error: "the body is larger than \(limit) bytes")
            return nil
        }
        if let type = head.headers.first(name: "content-type"), !type.lowercased().hasPrefix("application/json") {
            respond(context, .unsupportedMediaType, error: "the body must be application/json, not \(type)")
            return nil
        }
        guard let body, body.readableBytes > 0 else {
            respond(context, .badRequest, error: "the body is empty; expected a JSON object")
            return nil
        }
        return Data(body.readableBytesView)
    }

    private func decide(_ body: Data, enforcer: String, context: ChannelHandlerContext) {
        let request: DecisionRequest
        do {
            request = try DecisionRequest.parse(body)
        } catch {
            return respond(context, .badRequest, error: error.message)
        }
        respond(context, .ok, json: engine.decide(request, enforcer: enforcer))
    }

    private func access(_ body: Data, enforcer: String, context: ChannelHandlerContext) {
        let report: AccessReport
        do {
            report = try JSONDecoder().decode(AccessReport.self, from: body)
        } catch {
            return respond(context, .badRequest, error: "malformed access report: \(Self.describe(error))")
        }
        if let problem = report.problem() { return respond(context, .badRequest, error: problem) }
        let records = engine.accessRecords(report, enforcer: enforcer)
        // Acknowledged only once written: an enforcer may drop what it sent
        // as soon as it has the 202.
        inFlight.enter()
        let loop = context.eventLoop
        let bound = NIOLoopBound((self, context), eventLoop: loop)
        engine.audit.append(records) { error in
            loop.execute {
                let (handler, context) = bound.value
                if let error {
                    handler.respond(context, .serviceUnavailable, error: "the audit trail cannot be written: \(error)")
                } else {
                    handler.respond(context, .accepted, json: "{\"accepted\":\(records.count)}")
                }
                handler.inFlight.leave()
            }
        }
    }

    private func startWatching(_ context: ChannelHandlerContext) {
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: "application/x-ndjson")
        headers.add(name: "cache-control", value: "no-store")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http2, status: .ok, headers: headers))), promise: nil)
        let loop = context.eventLoop
        let bound = NIOLoopBound((self, context), eventLoop: loop)
        write(engine.watchState.jsonLine, context)
        stopWatching()
        watch = engine.watchers.subscribe { event in
            loop.execute {
                let (handler, context) = bound.value
                guard handler.watch != nil else { return }
                handler.write(event.jsonLine, context)
            }
        }
    }

    private func write(_ line: String, _ context: ChannelHandlerContext) {
        let buffer = context.channel.allocator.buffer(string: line)
        context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
    }

    // MARK: Answers

    private func methodNotAllowed(_ context: ChannelHandlerContext, allow: String) {
        respond(context, .methodNotAllowed, json: Self.errorJSON("use \(allow) here"), extra: [("allow", allow)])
    }

    private func respond(_ context: ChannelHandlerContext, _ status: HTTPResponseStatus, error: String) {
        respond(context, status, json: Self.errorJSON(error))
    }

    private func respond(
        _ context: ChannelHandlerContext, _ status: HTTPResponseStatus, json: String, extra: [(String, String)] = []
    ) {
        let buffer = context.channel.allocator.buffer(string: json)
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: "application/json")
        headers.add(name: "content-length", value: String(buffer.readableBytes))
        for (name, value) in extra { headers.add(name: name, value: value) }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http2, status: status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    static func errorJSON(_ message: String) -> String { "{\"error\":\(JSONText.string(message))}" }

    static func describe(_ error: Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, let context):
            return "missing field '\(path(context.codingPath + [key]))'"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            return "'\(path(context.codingPath))' has the wrong type"
        case DecodingError.dataCorrupted(let context):
            return context.codingPath.isEmpty ? "the body is not valid JSON" : "'\(path(context.codingPath))' is invalid"
        default:
            return "\(error)"
        }
    }

    private static func path(_ keys: [CodingKey]) -> String {
        keys.map { $0.intValue.map { "[\($0)]" } ?? "." + $0.stringValue }.joined().trimmingCharacters(in: ["."])
    }
}

/// Requests accepted but not yet answered, for a graceful drain.
final class InFlightCounter: Sendable {
    private let count = NIOLockedValueBox(0)
    func enter() { count.withLockedValue { $0 += 1 } }
    func leave() { count.withLockedValue { $0 -= 1 } }
    var value: Int { count.withLockedValue { $0 } }
}
