import EgressAPI
import Foundation
import NIOConcurrencyHelpers

/// Who may call the decision API. A connection over the Unix socket (guarded by
/// its file permissions) or with a verified client certificate is trusted as
/// a whole; on plain TCP every request must carry a bearer token of role `pep`
/// or `pep-identity`, and only the latter may assert a source's identity.
public final class EnforcerAuthenticator: Sendable {
    /// An authenticated caller: its name for the audit trail, and whether it
    /// may name a decision's source by identity rather than by address.
    struct Enforcer: Sendable, Equatable {
        let name: String
        let mayAssertIdentity: Bool
    }

    /// How a connection was established.
    enum Connection: Sendable {
        /// Trusted as a whole: the Unix socket, or TLS with a verified client
        /// certificate. The name goes into audit records.
        case trusted(String)
        /// Every request needs a `pep` token.
        case needsToken
    }

    /// Live tokens by the SHA-256 of their secret, and a generation that
    /// grows with every change (it invalidates connections' caches).
    private let tokens = NIOLockedValueBox((live: [String: TokenRecord](), generation: 0))

    /// Told after every change to the live tokens.
    private let observers = NIOLockedValueBox<[@Sendable () -> Void]>([])

    public init() {}

    /// Calls `observer` after every change to the live tokens (on the thread
    /// that made it).
    func whenTokensChange(_ observer: @escaping @Sendable () -> Void) {
        observers.withLockedValue { $0.append(observer) }
    }

    private func tokensChanged() {
        for observer in observers.withLockedValue({ $0 }) { observer() }
    }

    /// Serializes read-then-install, so that an older list read by one
    /// change can never be installed after a newer one.
    private let reloading = NIOLock()

    /// Installs the live tokens as the database has them now.
    func reload(from database: PDPDatabase) throws {
        try reloading.withLock {
            let live = try database.liveTokens()
            tokens.withLockedValue { $0 = (live, $0.generation + 1) }
        }
        tokensChanged()
    }

    /// Stops accepting one token at once, whatever the database says: used
    /// when a revocation is stored but the reload after it fails.
    func forget(id: String) {
        tokens.withLockedValue { state in
            state.live = state.live.filter { $0.value.id != id }
            state.generation += 1
        }
        tokensChanged()
    }

    /// A connection's last accepted `authorization` header, so that the
    /// streams of one connection hash the token once, not once per request.
    /// Used only on the connection's event loop.
    final class ConnectionCache {
        var authorization: String?
        var enforcer: Enforcer?
        var expiresAt: Int64?
        var generation = -1
    }

    /// The enforcer if `authorization` holds a live `pep` or `pep-identity`
    /// token, remembered per connection until the tokens change or it expires.
    func enforcer(authorization: String?, cache: ConnectionCache) -> Enforcer? {
        let generation = tokens.withLockedValue { $0.generation }
        if let authorization, cache.generation == generation, cache.authorization == authorization {
            guard let expiresAt = cache.expiresAt, nowMilliseconds() >= expiresAt else { return cache.enforcer }
            cache.generation = -1
            return nil
        }
        guard let (enforcer, record) = self.enforcerAndRecord(authorization: authorization) else { return nil }
        cache.authorization = authorization
        cache.enforcer = enforcer
        cache.expiresAt = record.expiresAt
        cache.generation = generation
        return enforcer
    }

    private func enforcerAndRecord(authorization: String?) -> (enforcer: Enforcer, record: TokenRecord)? {
        guard let record = record(authorization: authorization), record.role.isEnforcer else { return nil }
        return (Enforcer(name: "token:" + record.name, mayAssertIdentity: record.role == .pepIdentity), record)
    }

    /// The record of the live token of an enforcer's role that
    /// `authorization` holds, if it holds one.
    func enforcerRecord(authorization: String?) -> TokenRecord? {
        enforcerAndRecord(authorization: authorization)?.record
    }

    /// Any live token's record (neither revoked nor expired), for both APIs.
    func record(authorization: String?) -> TokenRecord? {
        guard let authorization, authorization.count > 7, authorization.prefix(7).lowercased() == "bearer " else { return nil }
        let hash = TokenSecret.hash(authorization.dropFirst(7).trimmingCharacters(in: .whitespaces))
        guard let record = tokens.withLockedValue({ $0.live[hash] }), record.isLive(at: nowMilliseconds()) else { return nil }
        return record
    }
}
