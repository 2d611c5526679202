import EgressAPI
import Foundation
import NIOCore
import NIOHTTP2

/// `POST /v1/access` on one connection: connection reports from an
/// enforcer, acknowledged (202) only once the audit trail holds them, since
/// an enforcer may drop what it sent as soon as it has the answer. Used on
/// the connection's event loop only.
final class AccessEndpoint {
    private let engine: DecisionEngine
    private let inFlight: InFlightCounter
    /// Reports waiting for the audit writer: answered only if still open.
    private var pending: Set<HTTP2StreamID> = []

    init(engine: DecisionEngine, inFlight: InFlightCounter) {
        self.engine = engine
        self.inFlight = inFlight
    }

    var count: Int { pending.count }

    func receive(_ body: Data, enforcer: String, _ id: HTTP2StreamID, _ context: ChannelHandlerContext) {
        let report: AccessReport
        do {
            report = try JSONDecoder().decode(AccessReport.self, from: body)
        } catch {
            return StreamAnswers.error(id, context, .badRequest, "malformed access report: \(DecodingProblem.describe(error))")
        }
        if let problem = report.problem() { return StreamAnswers.error(id, context, .badRequest, problem) }
        let records = engine.accessRecords(report, enforcer: enforcer)
        // The count of dropped records is echoed: an enforcer keeps telling
        // it until a service confirms it was recorded.
        let accepted = AccessReport.Accepted(
            accepted: report.connections.count, dropped: report.dropped.map { $0.allowed + $0.refused })
        inFlight.enter()
        pending.insert(id)
        let loop = context.eventLoop
        let bound = NIOLoopBound((self, context), eventLoop: loop)
        engine.audit.append(records) { error in
            loop.execute {
                let (endpoint, context) = bound.value
                defer { endpoint.inFlight.leave() }
                // The enforcer may have given up (reset the stream) meanwhile:
                // writing to a closed stream would be a connection error.
                guard endpoint.pending.remove(id) != nil else { return }
                if let error {
                    StreamAnswers.error(id, context, .serviceUnavailable, "the audit trail cannot be written: \(error)")
                } else {
                    StreamAnswers.respond(id, context, .accepted, json: accepted.json)
                }
                context.flush()
            }
        }
    }

    /// The stream closed: its report is still recorded, but not answered.
    func forget(_ id: HTTP2StreamID) {
        if !pending.isEmpty { pending.remove(id) }
    }

    func forgetAll() { pending.removeAll() }
}
