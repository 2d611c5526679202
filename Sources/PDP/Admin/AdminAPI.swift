import Foundation
import EgressAPI
import Hummingbird
import PolicyLang

/// The REST admin API (Hummingbird): policies and revisions, workloads, the
/// audit trail, tokens; health, readiness, metrics and the OpenAPI document.
/// Every `/v1` route needs a bearer token: `viewer` to read, `admin` to change.
struct AdminAPI: Sendable {
    let policies: PolicyManager
    let inventory: InventoryManager
    let database: PDPDatabase
    let audit: AuditWriter
    let authenticator: EnforcerAuthenticator
    let metrics: PDPMetrics
    let checks: PolicyCheckRunner
    let ready: @Sendable () -> Bool
    let tokensChanged: @Sendable () throws -> Void

    // MARK: Routes

    func router() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.get("healthz") { _, _ in try AdminJSON.response(["status": "ok"]) }
        router.get("readyz") { _, _ in
            let isReady = ready()
            return try AdminJSON.response(
                ["status": isReady ? "ready" : "starting"], status: isReady ? .ok : .serviceUnavailable)
        }
        router.get("metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                body: .init(byteBuffer: ByteBuffer(string: metrics.render())))
        }
        router.get("openapi.yaml") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "application/yaml"],
                body: .init(byteBuffer: ByteBuffer(string: OpenAPIDocument.text)))
        }

        let v1 = router.group("v1")
        // Revisions
        v1.get("revisions") { request, _ in
            try require(.viewer, request)
            let active = try database.activeRevisionID()
            let limit = try intQuery(request, "limit", default: 100, range: 1...1000)
            let list = try database.revisions(limit: limit).map {
                RevisionSummary(
                    id: $0.revision.id, createdAt: $0.revision.createdAt, author: $0.revision.author,
                    reason: $0.revision.reason, files: $0.fileCount, active: $0.revision.id == active)
            }
            return try AdminJSON.response(RevisionsPage(active: active, revisions: list))
        }
        v1.post("revisions") { request, _ in
            let token = try require(.admin, request)
            do {
                let (body, (revision, check)) = try await checking(request, RevisionRequest.self, files: \.files) { body, budget in
                    try policies.create(
                        body.files, author: token.name, reason: body.reason ?? "", activate: body.activate ?? true, budget: budget)
                }
                return try AdminJSON.response(
                    CreatedRevision(
                        revision: revision.id, active: body.activate ?? true, diagnostics: check.diagnostics,
                        testsPassed: check.testsPassed),
                    status: .created)
            } catch let rejected as PolicyManager.Rejected {
                throw AdminError(.unprocessableContent, rejected.message, diagnostics: rejected.diagnostics)
            }
        }
        v1.post("revisions/validate") { request, _ in
            try require(.viewer, request)
            let (_, check) = try await checking(request, ValidateRequest.self, files: \.files) { body, budget in
                try policies.check(body.files, budget: budget)
            }
            return try AdminJSON.response(
                Validation(
                    valid: check.valid, diagnostics: check.diagnostics, testsPassed: check.testsPassed,
                    testFailures: check.testFailures))
        }
        v1.get("revisions/{id}") { request, context in
            try require(.viewer, request)
            let id = try revisionID(context)
            guard let revision = try database.revision(id) else { throw AdminError(.notFound, "revision \(id) does not exist") }
            return try AdminJSON.response(revision)
        }
        v1.post("revisions/{id}/activate") { request, context in
            try require(.admin, request)
            let id = try revisionID(context)
            do {
                try policies.activate(id)
            } catch StoreError.notFound(let message) {
                throw AdminError(.notFound, message)
            } catch let rejected as PolicyManager.Rejected {
                throw AdminError(.unprocessableContent, rejected.message, diagnostics: rejected.diagnostics)
            }
            return try AdminJSON.response(["active": id])
        }

        // Workloads
        v1.get("workloads") { request, _ in
            try require(.viewer, request)
            let (generation, workloads) = try inventory.list()
            return try AdminJSON.response(WorkloadsPage(generation: generation, workloads: workloads))
        }
        v1.put("workloads") { request, _ in
            try require(.admin, request)
            let body = try await AdminJSON.decode(WorkloadList.self, from: request)
            let generation = try invalidAsBadRequest { try inventory.replace(body.workloads) }
            return try AdminJSON.response(["generation": generation, "workloads": Int64(body.workloads.count)])
        }
        v1.put("workloads/{namespace}/{pod}") { request, context in
            try require(.admin, request)
            let body = try await AdminJSON.decode(WorkloadBody.self, from: request)
            let workload = Workload(
                namespace: try decoded(context, "namespace"), pod: try decoded(context, "pod"),
                serviceAccount: body.serviceAccount, labels: body.labels ?? [:], spiffe: body.spiffe, ips: body.ips ?? [])
            let generation = try invalidAsBadRequest { try inventory.put(workload) }
            return try AdminJSON.response(["generation": generation])
        }
        v1.delete("workloads/{namespace}/{pod}") { request, context in
            try require(.admin, request)
            let namespace = try decoded(context, "namespace")
            let pod = try decoded(context, "pod")
            if let problem = KubernetesNames.checkLabel(namespace, what: "namespace") ?? KubernetesNames.checkSubdomain(pod, what: "pod name") {
                throw AdminError(.badRequest, problem)
            }
            guard let generation = try inventory.delete(namespace: namespace, pod: pod) else {
                throw AdminError(.notFound, "no workload \(namespace)/\(pod)")
            }
            return try AdminJSON.response(["generation": generation])
        }

        // Audit
        v1.get("audit") { request, _ in
            try require(.viewer, request)
            let query = try auditQuery(request)
            let records = try database.queryAudit(query)
            let next = records.count == query.limit ? records.last?.seq : nil
            return try AdminJSON.response(AuditPage(records: records, next: next))
        }
        v1.get("audit/verify") { request, _ in
            try require(.viewer, request)
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
            return try AdminJSON.response(try database.verifyAudit(expectedHeads: heads))
        }
        v1.get("audit/head") { request, _ in
            try require(.viewer, request)
            let head = audit.currentHead
            return try AdminJSON.response(AuditHead(seq: head.seq, hash: head.hash))
        }

        // Tokens
        v1.get("tokens") { request, _ in
            try require(.admin, request)
            return try AdminJSON.response(TokensPage(tokens: try database.liveTokens().values.sorted { $0.createdAt < $1.createdAt }))
        }
        v1.post("tokens") { request, _ in
            try require(.admin, request)
            let body = try await AdminJSON.decode(TokenRequest.self, from: request)
            guard !body.name.isEmpty, body.name.unicodeScalars.count <= 100 else {
                // Counted in code points, as the OpenAPI document's maxLength counts them.
                throw AdminError(.badRequest, "'name' must be 1-100 characters")
            }
            // The audit names enforcers `token:NAME`: a name must say which
            // token it was, and print as what it is.
            if let problem = PrintableText.problem(body.name, field: "name") { throw AdminError(.badRequest, problem) }
            if let expiresIn = body.expiresIn, !(1...TokenRequest.maxExpiresIn).contains(expiresIn) {
                throw AdminError(.badRequest, "'expiresIn' must be 1 to \(TokenRequest.maxExpiresIn) seconds (ten years)")
            }
            let (record, secret) = try invalidAsConflict {
                try database.createToken(name: body.name, role: body.role, expiresIn: body.expiresIn)
            }
            try tokensChanged()
            return try AdminJSON.response(
                CreatedToken(id: record.id, name: record.name, role: record.role, token: secret, expiresAt: record.expiresAt),
                status: .created)
        }
        v1.delete("tokens/{id}") { request, context in
            try require(.admin, request)
            let id = try decoded(context, "id")
            guard try database.revokeToken(id: id) else { throw AdminError(.notFound, "no live token \(id)") }
            do {
                try tokensChanged()
            } catch {
                authenticator.forget(id: id)
                throw error
            }
            return Response(status: .noContent)
        }
        return router
    }

    // MARK: Helpers

    /// Reads a body of policy files and runs `work` on it through the check
    /// runner: off the threads that answer decisions and `/healthz`, within
    /// its time, and cancelled when the client closes its connection.
    private func checking<Body: Decodable & Sendable, T: Sendable>(
        _ request: Request, _ type: Body.Type, files: KeyPath<Body, [Revision.File]> & Sendable,
        _ work: @escaping @Sendable (Body, LintBudget) throws -> T
    ) async throws -> (Body, T) {
        let gone = AtomicFlag()
        let headers = request.headers
        return try await request.body.consumeWithInboundCloseHandler { requestBody in
            let body = try await AdminJSON.decode(type, body: requestBody, headers: headers)
            try checks.checkSize(files: body[keyPath: files].count)
            let result = try await checks.run(clientGone: { gone.value }) { budget in try work(body, budget) }
            return (body, result)
        } onInboundClosed: {
            gone.set()
        }
    }

    @discardableResult
    private func require(_ role: Role, _ request: Request) throws -> TokenRecord {
        guard let token = authenticator.record(authorization: request.headers[.authorization]) else {
            throw AdminError(.unauthorized, "a bearer token is required")
        }
        guard token.role.permits(role) else {
            throw AdminError(.forbidden, "this needs a token of role '\(role.rawValue)'; this one is '\(token.role.rawValue)'")
        }
        return token
    }

    /// A path parameter with its percent-encoding undone.
    private func decoded(_ context: BasicRequestContext, _ name: String) throws -> String {
        let raw = try context.parameters.require(name)
        guard let value = raw.removingPercentEncoding, !value.isEmpty else {
            throw AdminError(.badRequest, "'\(name)' is not a valid path segment")
        }
        return value
    }

    private func revisionID(_ context: BasicRequestContext) throws -> Int64 {
        guard let text = context.parameters.get("id"), let id = Int64(text), id > 0 else {
            throw AdminError(.badRequest, "a revision id is a positive integer")
        }
        return id
    }

    private func invalidAsBadRequest<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch StoreError.invalid(let message) {
            throw AdminError(.badRequest, message)
        }
    }

    private func invalidAsConflict<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch StoreError.conflict(let message) {
            throw AdminError(.conflict, message)
        }
    }

    private func intQuery(_ request: Request, _ name: String, default value: Int, range: ClosedRange<Int>) throws -> Int {
        guard let text = request.uri.queryParameters.get(name) else { return value }
        guard let number = Int(text), range.contains(number) else {
            throw AdminError(.badRequest, "'\(name)' must be an integer in \(range.lowerBound)-\(range.upperBound)")
        }
        return number
    }

    private func auditQuery(_ request: Request) throws -> AuditQuery {
        let q = request.uri.queryParameters
        var query = AuditQuery()
        query.sourceIP = q.get("sourceIP").map { IPAddressText.normalize($0) ?? $0 }
        query.namespace = q.get("namespace")
        query.pod = q.get("pod")
        query.host = q.get("host").map(DecisionEngine.normalize)
        if let verdict = q.get("verdict") {
            guard verdict == "allow" || verdict == "deny" else { throw AdminError(.badRequest, "'verdict' must be allow or deny") }
            query.verdict = verdict
        }
        func number(_ name: String) throws -> Int64? {
            guard let text = q.get(name) else { return nil }
            guard let value = Int64(text), value >= 0 else {
                throw AdminError(.badRequest, "'\(name)' must be a non-negative integer")
            }
            return value
        }
        query.since = try number("since")
        query.until = try number("until")
        query.after = try number("after")
        query.limit = try intQuery(request, "limit", default: 100, range: 1...10_000)
        return query
    }
}

