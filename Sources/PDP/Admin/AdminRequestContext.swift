import EgressAPI
import Hummingbird

/// The admin API's request context: Hummingbird's, plus the token that
/// `RequireRole` found for the request.
struct AdminRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    /// Set by `RequireRole` on every `/v1` route.
    var authenticated: TokenRecord?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
    }

    /// The request's token; only a route behind `RequireRole` asks.
    func token() throws -> TokenRecord {
        guard let authenticated else { throw AdminError(.unauthorized, "a bearer token is required") }
        return authenticated
    }
}

/// Lets a request through only with a live bearer token whose role permits
/// `role`: 401 without one, 403 with one of a lesser role.
struct RequireRole: RouterMiddleware {
    typealias Context = AdminRequestContext

    let role: Role
    let authenticator: EnforcerAuthenticator

    init(_ role: Role, authenticator: EnforcerAuthenticator) {
        self.role = role
        self.authenticator = authenticator
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let token = authenticator.record(authorization: request.headers[.authorization]) else {
            throw AdminError(.unauthorized, "a bearer token is required")
        }
        guard token.role.permits(role) else {
            throw AdminError(.forbidden, "this needs a token of role '\(role.rawValue)'; this one is '\(token.role.rawValue)'")
        }
        var context = context
        context.authenticated = token
        return try await next(request, context)
    }
}
