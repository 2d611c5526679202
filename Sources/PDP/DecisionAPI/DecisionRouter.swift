import Foundation
import NIOCore
import NIOHTTP2

/// A request whose headers, and body so far, a decision API connection has
/// received.
struct ReceivedRequest {
    var head: DecisionConnectionHandler.RequestHead
    var enforcer: EnforcerAuthenticator.Enforcer
    var body: ByteBuffer?
    var tooLarge = false
    /// The shared body budget was exhausted: the answer will be 503.
    var overBudget = false
    /// Bytes of `body` counted against the shared budget.
    var reserved = 0
    /// The tick its headers came at (`ConnectionDeadlines`).
    var openedAt: Int
}

/// Sends each complete request of a decision API connection to its
/// endpoint, after the checks every endpoint shares (method, body size and
/// type, the body budget), and answers the rest with what was wrong.
struct DecisionRouter {
    static let maxDecisionBody = 64 * 1024
    static let maxAccessBody = 8 * 1024 * 1024

    let engine: DecisionEngine
    let authenticator: EnforcerAuthenticator
    let metrics: PDPMetrics
    let watches: WatchStreams
    let access: AccessEndpoint
    let bodyBudgetPerConnection: Int

    /// The largest body a request to `path` may have: its endpoint's cap, or
    /// a connection's share of the budget if that is smaller (a body that
    /// can never fit is 413, not a 503 to be tried again forever).
    func bodyLimit(_ path: String) -> Int {
        min(path == "/v1/access" ? Self.maxAccessBody : Self.maxDecisionBody, bodyBudgetPerConnection)
    }

    func route(
        _ stream: ReceivedRequest, _ id: HTTP2StreamID, _ context: ChannelHandlerContext, connection: EnforcerAuthenticator.Connection,
        audit: inout [PendingAudit]
    ) {
        let head = stream.head
        let enforcer = stream.enforcer
        if let malformed = head.malformed {
            return StreamAnswers.error(id, context, .badRequest, "malformed request: \(malformed)")
        }
        if stream.overBudget {
            metrics.bodyBudgetRefusals.increment()
            return StreamAnswers.error(id, context, .serviceUnavailable, "too many request bodies are held at once; try again")
        }
        switch head.path {
        case "/v1/decisions":
            guard head.method == "POST" else { return StreamAnswers.methodNotAllowed(id, context, allow: "POST") }
            guard let body = checkedBody(stream, id, context) else { return }
            DecisionEndpoint.decide(body, enforcer: enforcer, engine: engine, audit: &audit, id, context)
        case "/v1/access":
            guard head.method == "POST" else { return StreamAnswers.methodNotAllowed(id, context, allow: "POST") }
            guard let body = checkedBody(stream, id, context) else { return }
            access.receive(Data(body.readableBytesView), enforcer: enforcer.name, id, context)
        case "/v1/watch":
            guard head.method == "GET" else { return StreamAnswers.methodNotAllowed(id, context, allow: "GET") }
            // Tokens are checked for every request; a watch is one request
            // that lasts, so its token is checked again while it lasts, from
            // its start (the token may have gone since its headers came).
            if case .needsToken = connection {
                guard let authorization = head.authorization, let token = authenticator.enforcerRecord(authorization: authorization) else {
                    return StreamAnswers.unauthorized(id, context)
                }
                watches.start(id, context, token: (authorization, token.expiresAt))
            } else {
                watches.start(id, context, token: nil)
            }
        default:
            if let version = head.path.split(separator: "/").first, version != "v1", version.hasPrefix("v") {
                return StreamAnswers.error(id, context, .notFound, "unknown API version '\(version)'; this service speaks v1")
            }
            StreamAnswers.error(
                id, context, .notFound,
                "no such endpoint: \(head.path); the decision API has POST /v1/decisions, GET /v1/watch and POST /v1/access")
        }
    }

    /// The body, or `nil` after answering why it cannot be used.
    private func checkedBody(_ stream: ReceivedRequest, _ id: HTTP2StreamID, _ context: ChannelHandlerContext) -> ByteBuffer? {
        if stream.tooLarge {
            StreamAnswers.error(id, context, .payloadTooLarge, "the body is larger than \(bodyLimit(stream.head.path)) bytes")
            return nil
        }
        if let type = stream.head.contentType, !type.lowercased().hasPrefix("application/json") {
            StreamAnswers.error(id, context, .unsupportedMediaType, "the body must be application/json, not \(type)")
            return nil
        }
        guard let body = stream.body, body.readableBytes > 0 else {
            StreamAnswers.error(id, context, .badRequest, "the body is empty; expected a JSON object")
            return nil
        }
        return body
    }
}
