import EgressAPI
import NIOCore
import NIOHTTP1

/// `POST /v1/decisions`: one decision, answered at once. The answer is
/// written straight into its buffer and the audit record goes into the read
/// burst's batch, which the handler submits at the end of the read.
///
/// It returns the answer rather than writing it: a write can call back into
/// the handler (NIO reports an error, the connection closes, the handler
/// submits its batch), which must not happen while the batch is lent here.
enum DecisionEndpoint {
    /// What to answer: the decision's JSON, or a refusal.
    enum Answer {
        case decided(ByteBuffer)
        case refused(HTTPResponseStatus, String)
    }

    static func decide(
        _ body: ByteBuffer, enforcer: EnforcerAuthenticator.Enforcer, engine: DecisionEngine, allocator: ByteBufferAllocator,
        audit: inout [PendingAudit]
    ) -> Answer {
        let request: DecisionRequest
        do {
            request = try DecisionRequest.parse(body)
        } catch {
            return .refused(.badRequest, error.message)
        }
        switch request.source {
        case .spiffe, .asserted:
            // An identity is taken on trust: only from enforcers trusted to
            // know one. Anyone else names the source by its address, which
            // the service looks up itself.
            guard enforcer.mayAssertIdentity else {
                return .refused(
                    .forbidden,
                    "this enforcer's token (role pep) may name a source only by 'source.ip'; asserting an identity "
                        + "('source.spiffe', 'source.namespace', ...) needs a token of role pep-identity, the Unix socket "
                        + "or a client certificate")
            }
        case .ip, .unknown:
            break
        }
        do {
            let outcome = try engine.decide(request, enforcer: enforcer.name)
            audit.append(outcome.audit)
            var answer = allocator.buffer(capacity: 320)
            outcome.answer.write(into: &answer)
            return .decided(answer)
        } catch {
            return .refused(.serviceUnavailable, "\(error); try again")
        }
    }
}
