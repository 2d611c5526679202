import EgressAPI
import Foundation
import Hummingbird
import PolicyLang

extension AdminAPI {
    /// Policy revisions: list, store, validate, show, activate.
    /// `read` routes need a `viewer` token, `change` routes an `admin` one.
    func addRevisionsRoutes(read: RouterGroup<AdminRequestContext>, change: RouterGroup<AdminRequestContext>) {
        read.get("revisions") { request, _ in
            let active = try database.activeRevisionID()
            let limit = try intQuery(request, "limit", default: 100, range: 1...1000)
            let list = try database.revisions(limit: limit).map {
                RevisionSummary(
                    id: $0.revision.id, createdAt: $0.revision.createdAt, author: $0.revision.author,
                    reason: $0.revision.reason, files: $0.fileCount, active: $0.revision.id == active)
            }
            return try AdminJSON.response(RevisionsPage(active: active, revisions: list))
        }
        change.post("revisions") { request, context in
            let token = try context.token()
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
        read.post("revisions/validate") { request, _ in
            let (_, check) = try await checking(request, ValidateRequest.self, files: \.files) { body, budget in
                try policies.check(body.files, budget: budget)
            }
            return try AdminJSON.response(
                Validation(
                    valid: check.valid, diagnostics: check.diagnostics, testsPassed: check.testsPassed,
                    testFailures: check.testFailures))
        }
        read.get("revisions/{id}") { request, context in
            let id = try revisionID(context)
            guard let revision = try database.revision(id) else { throw AdminError(.notFound, "revision \(id) does not exist") }
            return try AdminJSON.response(revision)
        }
        change.post("revisions/{id}/activate") { request, context in
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
    }
}
