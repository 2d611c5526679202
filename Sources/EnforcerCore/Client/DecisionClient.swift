import EgressAPI
import Foundation
import NIOCore

/// Asks the decision service for verdicts (`POST /v1/decisions`) over the
/// shared connection.
public struct DecisionClient: Sendable {
    public let pdp: PDPClient

    public init(pdp: PDPClient) {
        self.pdp = pdp
    }

    /// The service answered, but not with a decision (a 4xx or 5xx).
    public struct Refused: DecisionServiceAnswer, CustomStringConvertible {
        public let status: Int
        public let message: String
        public var description: String { "the decision service answered \(status): \(message)" }
        /// Every status is the service's own answer (a 401 for a revoked or
        /// expired token; a 503 when it will not decide what it cannot
        /// record), except a gateway's 502 or 504 from something in between.
        public var isRefusal: Bool { status != 502 && status != 504 }
    }

    public func decide(_ key: VerdictKey) async throws -> Verdict {
        var body = ByteBuffer()
        DecisionRequest(source: .ip(key.sourceIP), host: key.host, port: key.port).write(into: &body)
        let response = try await pdp.send(method: "POST", path: "/v1/decisions", body: body)
        let bytes = Data(response.body.readableBytesView)
        guard response.status == 200 else {
            let message = (try? JSONDecoder().decode(DecisionAPIError.self, from: bytes))?.error
            throw Refused(status: response.status, message: message ?? "no error message")
        }
        guard let answer = try? JSONDecoder().decode(DecisionAnswer.self, from: bytes) else {
            throw Refused(status: response.status, message: "the answer is not a decision: \(String(buffer: response.body).prefix(200))")
        }
        return Verdict(
            allow: answer.verdict == .allow, rule: answer.rule, name: answer.name, revision: answer.revision, ttl: answer.ttl)
    }
}
