import Foundation
import GRDB

/// The service's SQLite file: policy revisions, the workload inventory, the
/// audit trail and tokens. WAL mode, so that readers never wait for the audit
/// writer, and every change is one transaction: a crash leaves the old state
/// or the new one.
public final class PDPDatabase: Sendable {
    public let path: String
    let pool: DatabasePool

    public init(path: String) throws {
        self.path = path
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        // Created 0600 before SQLite opens it; the -wal and -shm files SQLite
        // makes take the main file's permissions.
        if !FileManager.default.fileExists(atPath: path) {
            guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
                throw StoreError.io("cannot create the database file \(path)")
            }
        }
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        configuration.prepareDatabase { db in
            // Set before the pool turns WAL on, so a new file gets it (an
            // existing one keeps its own). Audit rows are appended in order:
            // bigger pages mean fewer WAL frames per commit (2 writes each).
            try db.execute(sql: "PRAGMA page_size = 16384")
        }
        pool = try DatabasePool(path: path, configuration: configuration)
        // FULL: a commit is on disk before it returns, so an access report
        // answered 202 survives a power loss too; the audit writer commits at
        // most every few milliseconds, so the syncs cost little. Set on the
        // pool's one writing connection, after the pool's own set-up: GRDB
        // sets NORMAL when it turns WAL on, after `prepareDatabase` ran.
        try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
        try Self.migrator.migrate(pool)
    }

    /// The first schema, as every database began. Later changes are
    /// migrations of their own: a database made by any release moves forward.
    static let schemaV1 = """
            CREATE TABLE revision (
                id INTEGER PRIMARY KEY,
                created_at INTEGER NOT NULL,
                author TEXT NOT NULL,
                reason TEXT NOT NULL
            );
            CREATE TABLE revision_file (
                revision_id INTEGER NOT NULL REFERENCES revision(id),
                path TEXT NOT NULL,
                content TEXT NOT NULL,
                PRIMARY KEY (revision_id, path)
            );
            CREATE TABLE setting (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
            CREATE TABLE workload (
                namespace TEXT NOT NULL,
                pod TEXT NOT NULL,
                service_account TEXT,
                labels TEXT NOT NULL,
                spiffe TEXT,
                ips TEXT NOT NULL,
                PRIMARY KEY (namespace, pod)
            );
            CREATE TABLE audit (
                seq INTEGER PRIMARY KEY,
                time INTEGER NOT NULL,
                kind TEXT NOT NULL,
                enforcer TEXT NOT NULL,
                source_ip TEXT, namespace TEXT, service_account TEXT, pod TEXT, spiffe TEXT, labels TEXT,
                host TEXT NOT NULL,
                port INTEGER NOT NULL,
                verdict TEXT NOT NULL,
                rule TEXT, rule_name TEXT, revision INTEGER, dry_run_verdict TEXT, dry_run_rule TEXT,
                reason TEXT, original_destination TEXT, upstream TEXT, cached INTEGER, bytes_up INTEGER, bytes_down INTEGER, duration_ms INTEGER,
                hash TEXT NOT NULL
            );
            CREATE INDEX audit_time ON audit(time);
            CREATE INDEX audit_host ON audit(host);
            CREATE TABLE audit_anchor (
                id INTEGER PRIMARY KEY CHECK (id = 1),
                seq INTEGER NOT NULL,
                hash TEXT NOT NULL
            );
            CREATE TABLE token (
                id TEXT PRIMARY KEY,
                name TEXT NOT NULL,
                role TEXT NOT NULL,
                hash TEXT NOT NULL UNIQUE,
                created_at INTEGER NOT NULL,
                revoked_at INTEGER
            );
        """

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in try db.execute(sql: schemaV1) }
        // Records of connections an enforcer could not keep (kind `dropped`)
        // carry how many. Hashed only when set: see AuditRow.laterInteger.
        migrator.registerMigration("v2-audit-count") { db in
            try db.execute(sql: "ALTER TABLE audit ADD COLUMN count INTEGER")
        }
        // Tokens made with a lifetime stop working at expires_at (ms since 1970).
        migrator.registerMigration("v3-token-expiry") { db in
            try db.execute(sql: "ALTER TABLE token ADD COLUMN expires_at INTEGER")
        }
        // A workload's namespace labels (nslabel: selectors), as a JSON object; NULL when none.
        migrator.registerMigration("v4-namespace-labels") { db in
            try db.execute(sql: "ALTER TABLE workload ADD COLUMN namespace_labels TEXT")
        }
        // Access records of requests carried as HTTP: method, path, status.
        // Hashed only when set: see AuditRow.laterColumns.
        migrator.registerMigration("v5-audit-http") { db in
            for column in ["method TEXT", "path TEXT", "status INTEGER"] {
                try db.execute(sql: "ALTER TABLE audit ADD COLUMN \(column)")
            }
        }
        // Access records of DNS queries: the query type. Hashed only when
        // set: see AuditRow.laterColumns.
        migrator.registerMigration("v6-audit-dns") { db in
            try db.execute(sql: "ALTER TABLE audit ADD COLUMN query_type TEXT")
        }
        return migrator
    }

    /// Reads a setting; `nil` when it was never written.
    func setting(_ key: String, _ db: Database) throws -> Int64? {
        try Int64.fetchOne(db, sql: "SELECT value FROM setting WHERE key = ?", arguments: [key])
    }

    func setSetting(_ key: String, _ value: Int64, _ db: Database) throws {
        try db.execute(
            sql: "INSERT INTO setting(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            arguments: [key, value])
    }
}

public enum StoreError: Error, CustomStringConvertible, Sendable {
    case io(String)
    case notFound(String)
    case invalid(String)
    /// The change would break a uniqueness rule (two live tokens of one name).
    case conflict(String)

    public var description: String {
        switch self {
        case .io(let m), .notFound(let m), .invalid(let m), .conflict(let m): return m
        }
    }
}

/// Milliseconds since 1970, the unit of every time the store keeps.
func nowMilliseconds() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }
