import EgressAPI
import Crypto
import Foundation
import GRDB

enum TokenSecret {
    /// A new secret: 32 random bytes, hex, with a prefix that secret scanners
    /// can recognise.
    static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return "egr_" + Hex.encode(bytes)
    }

    /// The secrets are random and long, so a plain SHA-256 is enough: there is
    /// nothing to guess that a slow hash would protect.
    static func hash<S: StringProtocol>(_ secret: S) -> String {
        Hex.encode(SHA256.hash(data: Array(secret.utf8)))
    }
}

extension PDPDatabase {
    /// Creates a token and returns its record and the secret, which is not
    /// stored and cannot be shown again.
    /// `expiresIn`: seconds it works for; nil for until it is revoked.
    func createToken(
        name: String, role: Role, expiresIn: Int64? = nil, secret: String = TokenSecret.generate()
    ) throws -> (TokenRecord, secret: String) {
        let now = nowMilliseconds()
        let record = TokenRecord(
            id: String(UUID().uuidString.prefix(8)).lowercased(), name: name, role: role, createdAt: now,
            expiresAt: expiresIn.map { now + $0 * 1000 })
        try pool.write { db in
            // Names are unique among live tokens, checked in the transaction
            // that adds one: the audit's `token:NAME` must name one token.
            let taken = try Bool.fetchOne(
                db, sql: "SELECT EXISTS(SELECT 1 FROM token WHERE name = ? AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?))",
                arguments: [name, now]) ?? false
            if taken { throw StoreError.conflict("a live token is already named '\(name)'; revoke it first or pick another name") }
            try db.execute(
                sql: "INSERT INTO token(id, name, role, hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
                arguments: [record.id, name, role.rawValue, TokenSecret.hash(secret), record.createdAt, record.expiresAt])
        }
        return (record, secret)
    }

    /// Revokes a token; `false` if there is no such live token.
    func revokeToken(id: String) throws -> Bool {
        try pool.write { db in
            try db.execute(
                sql: "UPDATE token SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", arguments: [nowMilliseconds(), id])
            return db.changesCount > 0
        }
    }

    /// Tokens neither revoked nor expired, by the hash of their secret. One
    /// that expires later stays here: whoever checks it compares its
    /// `expiresAt` with the time of the request.
    func liveTokens() throws -> [String: TokenRecord] {
        let now = nowMilliseconds()
        return try pool.read { db in
            var result: [String: TokenRecord] = [:]
            for row in try Row.fetchAll(
                db, sql: "SELECT * FROM token WHERE revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)", arguments: [now])
            {
                guard let role = Role(rawValue: row["role"]) else { continue }
                result[row["hash"]] = TokenRecord(
                    id: row["id"], name: row["name"], role: role, createdAt: row["created_at"], expiresAt: row["expires_at"])
            }
            return result
        }
    }

    func tokenCount() throws -> Int {
        try pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM token") ?? 0 }
    }
}
