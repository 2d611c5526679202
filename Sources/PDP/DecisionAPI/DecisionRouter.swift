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

    /// A decision request that passed every check, for the handler to make
    /// with its read burst's audit batch (`DecisionEndpoint`).
    struct PendingDecision {
        let body: ByteBuffer
        let enforcer: EnforcerAuthenticator.Enforcer
    }

    /// Answers the request, or hands back the decision it asks for.
    func route(
        _ stream: ReceivedRequest, _ id: HTTP2StreamID, _ context: ChannelHandlerContext, connection: EnforcerAuthenticator.Connection
    ) -> PendingDecision? {
        let head = stream.head
        if let malformed = head.malformed {
            StreamAnswers.error(id, context, .badRequest, "malformed request: \(malformed)")
            return nil
        }
        if stream.overBudget {
            metrics.bodyBudgetRefusals.increment()
            StreamAnswers.error(id, context, .serviceUnavailable, "too many request bodies are held at once; try again")
            return nil
        }
        switch (head.path, head.method) {
        case ("/v1/decisions", "POST"):
            return checkedBody(stream, id, context).map { PendingDecision(body: $0, enforcer: stream.enforcer) }
        case ("/v1/access", "POST"):
            if let body = checkedBody(stream, id, context) {
                access.receive(Data(body.readableBytesView), enforcer: stream.enforcer.name, id, context)
            }
        case ("/v1/watch", "GET"):
            watch(head, id, context, connection: connection)
        case ("/v1/decisions", _), ("/v1/access", _):
            StreamAnswers.methodNotAllowed(id, context, allow: "POST")
        case ("/v1/watch", _):
            StreamAnswers.methodNotAllowed(id, context, allow: "GET")
        default:
            if let version = head.path.split(separator: "/").first, version != "v1", version.hasPrefix("v") {
                StreamAnswers.error(id, context, .notFound, "unknown API version '\(version)'; this service speaks v1")
            } else {
                StreamAnswers.error(
                    id, context, .notFound,
                    "no such endpoint: \(head.path); the decision API has POST /v1/decisions, GET /v1/watch and POST /v1/access")
            }
        }
        return nil
    }

    /// Tokens are checked for every request; a watch is one request that
    /// lasts, so its token is checked again while it lasts, from its start
    /// (the token may have gone since its headers came).
    private func watch(
        _ head: DecisionConnectionHandler.RequestHead, _ id: HTTP2StreamID, _ context: ChannelHandlerContext,
        connection: EnforcerAuthenticator.Connection
    ) {
        guard case .needsToken = connection else { return watches.start(id, context, token: nil) }
        guard let authorization = head.authorization, let token = authenticator.enforcerRecord(authorization: authorization) else {
            return StreamAnswers.unauthorized(id, context)
        }
        watches.start(id, context, token: (authorization, token.expiresAt))
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
