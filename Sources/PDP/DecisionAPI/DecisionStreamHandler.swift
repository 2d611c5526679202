import Foundation
import NIOCore
import NIOConcurrencyHelpers
import NIOHPACK
import NIOHTTP1
import NIOHTTP2

/// Serves one HTTP/2 stream of the decision API, on HTTP/2 frames directly
/// (no translation to HTTP/1 types: that cost a fifth of the time per
/// decision). A stream that goes wrong answers with an error and ends; the
/// other streams of its connection never notice.
final class DecisionStreamHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTP2Frame.FramePayload
    typealias OutboundOut = HTTP2Frame.FramePayload

    /// What the handler needs of a request's headers.
    struct RequestHead {
        var method: String
        /// The `:path` without its query.
        var path: String
        var authorization: String?
        var contentType: String?

        init(_ headers: HPACKHeaders) {
            method = headers.first(name: ":method") ?? ""
            let uri = headers.first(name: ":path") ?? ""
            path = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? uri
            authorization = headers.first(name: "authorization")
            contentType = headers.first(name: "content-type")
        }
    }

    static let maxDecisionBody = 64 * 1024
    static let maxAccessBody = 8 * 1024 * 1024

    private let engine: DecisionEngine
    private let authenticator: EnforcerAuthenticator
    private let connection: EnforcerAuthenticator.Connection
    private let cache: EnforcerAuthenticator.ConnectionCache
    private let inFlight: InFlightCounter
    private var head: RequestHead?
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
        case .headers(let frame):
            if head == nil {
                head = RequestHead(frame.headers)
                body = nil
                tooLarge = false
            }
            // A second HEADERS frame carries trailers; they are ignored.
            if frame.endStream { finish(context) }
        case .data(let frame):
            if case .byteBuffer(var chunk) = frame.data, !tooLarge {
                let limit = head?.path == "/v1/access" ? Self.maxAccessBody : Self.maxDecisionBody
                if (body?.readableBytes ?? 0) + chunk.readableBytes > limit {
                    tooLarge = true
                    body = nil
                } else if body == nil {
                    body = chunk
                } else {
                    body!.writeBuffer(&chunk)
                }
            }
            if frame.endStream { finish(context) }
        default:
            break
        }
    }

    private func finish(_ context: ChannelHandlerContext) {
        guard let head else { return }
        self.head = nil
        handle(head, context: context)
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

    private func handle(_ head: RequestHead, context: ChannelHandlerContext) {
        let enforcer: String
        switch connection {
        case .trusted(let name):
            enforcer = name
        case .needsToken:
            guard let name = authenticator.enforcer(authorization: head.authorization, cache: cache) else {
                return respond(
                    context, .unauthorized, json: Self.errorJSON("a bearer token of role 'pep' is required"),
                    extra: [("www-authenticate", "Bearer")])
            }
            enforcer = name
        }
        let path = head.path
        switch path {
        case "/v1/decisions":
            guard head.method == "POST" else { return methodNotAllowed(context, allow: "POST") }
            guard let body = checkedBody(context, head) else { return }
            decide(body, enforcer: enforcer, context: context)
        case "/v1/access":
            guard head.method == "POST" else { return methodNotAllowed(context, allow: "POST") }
            guard let body = checkedBody(context, head) else { return }
            access(body, enforcer: enforcer, context: context)
        case "/v1/watch":
            guard head.method == "GET" else { return methodNotAllowed(context, allow: "GET") }
            startWatching(context)
        default:
            if let version = path.split(separator: "/").first, version != "v1", version.hasPrefix("v") {
                return respond(context, .notFound, error: "unknown API version '\(version)'; this service speaks v1")
            }
            respond(context, .notFound, error: "no such endpoint: \(path); the decision API has POST /v1/decisions, GET /v1/watch and POST /v1/access")
        }
    }

    /// The body, or `nil` after answering why it cannot be used.
    private func checkedBody(_ context: ChannelHandlerContext, _ head: RequestHead) -> Data? {
        if tooLarge {
            let limit = head.path == "/v1/access" ? Self.maxAccessBody : Self.maxDecisionBody
            respond(context, .payloadTooLarge, error: "the body is larger than \(limit) bytes")
            return nil
        }
        if let type = head.contentType, !type.lowercased().hasPrefix("application/json") {
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
        let headers: HPACKHeaders = [":status": "200", "content-type": "application/x-ndjson", "cache-control": "no-store"]
        context.write(wrapOutboundOut(.headers(.init(headers: headers))), promise: nil)
        let loop = context.eventLoop
        let bound = NIOLoopBound((self, context), eventLoop: loop)
        stopWatching()
        // Subscribed before the current state is read: a change in between
        // is then sent twice rather than missed.
        watch = engine.watchers.subscribe { event in
            loop.execute {
                let (handler, context) = bound.value
                guard handler.watch != nil else { return }
                handler.write(event.jsonLine, context)
            }
        }
        write(engine.watchState.jsonLine, context)
    }

    private func write(_ line: String, _ context: ChannelHandlerContext) {
        let buffer = context.channel.allocator.buffer(string: line)
        context.writeAndFlush(wrapOutboundOut(.data(.init(data: .byteBuffer(buffer)))), promise: nil)
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
        var headers = status == .ok ? Self.okHeaders : [":status": String(status.code), "content-type": "application/json"]
        headers.add(name: "content-length", value: String(buffer.readableBytes))
        for (name, value) in extra { headers.add(name: name, value: value) }
        context.write(wrapOutboundOut(.headers(.init(headers: headers))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.data(.init(data: .byteBuffer(buffer), endStream: true))), promise: nil)
    }

    private static let okHeaders: HPACKHeaders = [":status": "200", "content-type": "application/json"]

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
