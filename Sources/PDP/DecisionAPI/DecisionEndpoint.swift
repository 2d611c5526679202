import NIOCore
import NIOHTTP2

/// `POST /v1/decisions`: one decision, answered at once. The decision is
/// written straight into the answer's buffer and its audit record into the
/// read burst's batch, which the handler submits at the end of the read.
enum DecisionEndpoint {
    static func decide(
        _ body: ByteBuffer, enforcer: EnforcerAuthenticator.Enforcer, engine: DecisionEngine, audit: inout [PendingAudit],
        _ id: HTTP2StreamID, _ context: ChannelHandlerContext
    ) {
        let request: DecisionRequest
        do {
            request = try DecisionRequest.parse(body)
        } catch {
            return StreamAnswers.error(id, context, .badRequest, error.message)
        }
        switch request.source {
        case .spiffe, .asserted:
            // An identity is taken on trust: only from enforcers trusted to
            // know one. Anyone else names the source by its address, which
            // the service looks up itself.
            guard enforcer.mayAssertIdentity else {
                return StreamAnswers.error(
                    id, context, .forbidden,
                    "this enforcer's token (role pep) may name a source only by 'source.ip'; asserting an identity "
                        + "('source.spiffe', 'source.namespace', ...) needs a token of role pep-identity, the Unix socket "
                        + "or a client certificate")
            }
        case .ip, .unknown:
            break
        }
        do {
            var answer = context.channel.allocator.buffer(capacity: 320)
            try engine.decide(request, enforcer: enforcer.name, into: &answer, audit: &audit)
            StreamAnswers.respond(id, context, .ok, body: answer)
        } catch {
            StreamAnswers.error(id, context, .serviceUnavailable, "\(error); try again")
        }
    }
}
