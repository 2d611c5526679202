import EgressAPI
import Foundation
import Hummingbird
import PolicyLang

extension AdminAPI {
    /// The audit trail: query, verify, head.
    /// `read` routes need a `viewer` token, `change` routes an `admin` one.
    func addAuditRoutes(read: RouterGroup<AdminRequestContext>, change: RouterGroup<AdminRequestContext>) {
        read.get("audit") { request, _ in
            let query = try auditQuery(request)
            let records = try database.queryAudit(query)
            let next = records.count == query.limit ? records.last?.seq : nil
            return try AdminJSON.response(AuditPage(records: records, next: next))
        }
        read.get("audit/verify") { request, _ in
            // The writer's head first: a trail emptied or cut short under a
            // running service does not verify. An operator who anchored a
            // head outside passes it too (headSeq, headHash).
            var heads = [audit.currentHead]
            let q = request.uri.queryParameters
            switch (q.get("headSeq"), q.get("headHash")) {
            case (nil, nil): break
            case (let seq?, let hash?):
                guard let seq = Int64(seq), seq >= 0, hash.count == 64, hash.allSatisfy(\.isHexDigit) else {
                    throw AdminError(.badRequest, "'headSeq' must be a non-negative integer and 'headHash' 64 hex digits")
                }
                heads.append((seq, hash.lowercased()))
            default:
                throw AdminError(.badRequest, "'headSeq' and 'headHash' go together")
            }
            // A long trail takes a while: on the check thread, with no time
            // limit, but stopped when the client goes or the service stops.
            let result = try await whileClientWaits(request) { _, gone in
                try await checks.run(timed: false, clientGone: gone) { [database, heads] budget in
                    try database.verifyAudit(expectedHeads: heads, stopWhen: { budget.isExhausted })
                }
            }
            return try AdminJSON.response(result)
        }
        read.get("audit/head") { request, _ in
            let head = audit.currentHead
            return try AdminJSON.response(AuditHead(seq: head.seq, hash: head.hash))
        }
    }
}
