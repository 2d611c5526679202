import EgressAPI
import Foundation
import Hummingbird
import PolicyLang

extension AdminAPI {
    /// Bearer tokens: list, create, revoke (admin only).
    /// `read` routes need a `viewer` token, `change` routes an `admin` one.
    func addTokensRoutes(read: RouterGroup<AdminRequestContext>, change: RouterGroup<AdminRequestContext>) {
        change.get("tokens") { request, _ in
            return try AdminJSON.response(TokensPage(tokens: try database.liveTokens().values.sorted { $0.createdAt < $1.createdAt }))
        }
        change.post("tokens") { request, _ in
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
        change.delete("tokens/{id}") { request, context in
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
    }
}
