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
    let checks: CheckRunner
    let ready: @Sendable () -> Bool
    let tokensChanged: @Sendable () throws -> Void

    // MARK: Routes

    func router() -> Router<AdminRequestContext> {
        let router = Router(context: AdminRequestContext.self)
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

        // Every /v1 route needs a token: the role is checked once per
        // group, before the route's handler or its body is read.
        let read = router.group("v1").add(middleware: RequireRole(.viewer, authenticator: authenticator))
        let change = router.group("v1").add(middleware: RequireRole(.admin, authenticator: authenticator))
        addRevisionsRoutes(read: read, change: change)
        addWorkloadsRoutes(read: read, change: change)
        addAuditRoutes(read: read, change: change)
        addTokensRoutes(read: read, change: change)
        return router
    }

    // MARK: Helpers

    /// Reads a body of policy files and runs `work` on it through the check
    /// runner: off the threads that answer decisions and `/healthz`, within
    /// its time, and cancelled when the client closes its connection.
    func checking<Body: Decodable & Sendable, T: Sendable>(
        _ request: Request, _ type: Body.Type, files: KeyPath<Body, [Revision.File]> & Sendable,
        _ work: @escaping @Sendable (Body, LintBudget) throws -> T
    ) async throws -> (Body, T) {
        let headers = request.headers
        return try await whileClientWaits(request) { requestBody, gone in
            let body = try await AdminJSON.decode(type, body: requestBody, headers: headers)
            try checks.checkSize(files: body[keyPath: files].count)
            let result = try await checks.run(clientGone: gone) { budget in try work(body, budget) }
            return (body, result)
        }
    }

    /// Runs `work` with a flag that turns true when the client closes its
    /// connection, so that long work can stop for nobody.
    func whileClientWaits<T: Sendable>(
        _ request: Request, _ work: (RequestBody, @escaping @Sendable () -> Bool) async throws -> T
    ) async throws -> T {
        let gone = AtomicFlag()
        return try await request.body.consumeWithInboundCloseHandler { body in
            try await work(body, { gone.value })
        } onInboundClosed: {
            gone.set()
        }
    }

    /// A path parameter with its percent-encoding undone.
    func decoded(_ context: AdminRequestContext, _ name: String) throws -> String {
        let raw = try context.parameters.require(name)
        guard let value = raw.removingPercentEncoding, !value.isEmpty else {
            throw AdminError(.badRequest, "'\(name)' is not a valid path segment")
        }
        return value
    }

    func revisionID(_ context: AdminRequestContext) throws -> Int64 {
        guard let text = context.parameters.get("id"), let id = Int64(text), id > 0 else {
            throw AdminError(.badRequest, "a revision id is a positive integer")
        }
        return id
    }

    func invalidAsBadRequest<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch StoreError.invalid(let message) {
            throw AdminError(.badRequest, message)
        }
    }

    func invalidAsConflict<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch StoreError.conflict(let message) {
            throw AdminError(.conflict, message)
        }
    }

    func intQuery(_ request: Request, _ name: String, default value: Int, range: ClosedRange<Int>) throws -> Int {
        guard let text = request.uri.queryParameters.get(name) else { return value }
        guard let number = Int(text), range.contains(number) else {
            throw AdminError(.badRequest, "'\(name)' must be an integer in \(range.lowerBound)-\(range.upperBound)")
        }
        return number
    }

    func auditQuery(_ request: Request) throws -> AuditQuery {
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

