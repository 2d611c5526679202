import EgressAPI
import Foundation
import GRDB

/// What `GET /v1/audit` filters by.
public struct AuditQuery: Sendable {
    public var sourceIP: String?
    public var namespace: String?
    public var pod: String?
    public var host: String?
    public var verdict: String?
    public var since: Int64?
    public var until: Int64?
    /// Return records with a sequence number above this one (paging).
    public var after: Int64?
    public var limit: Int = 100

    public init() {}
}

extension PDPDatabase {
    /// The last record's sequence number and hash (or the anchor's, or genesis).
    func auditHead() throws -> (seq: Int64, hash: String) {
        try pool.read { db in
            if let row = try Row.fetchOne(db, sql: "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1") {
                return (row["seq"], row["hash"])
            }
            if let row = try Row.fetchOne(db, sql: "SELECT seq, hash FROM audit_anchor WHERE id = 1") {
                return (row["seq"], row["hash"])
            }
            return (0, AuditChain.genesis)
        }
    }

    /// Appends records chained onto `head` in one transaction that stays open
    /// while `next` gives more: each call returns the next records, or nil to
    /// commit. Returns the new head. Rows inserted earlier are written to the
    /// file once, at the commit, however many calls added to the pages they
    /// share: this is how the audit writer gathers several bursts into one
    /// commit (see `AuditWriter`).
    func appendAudit(
        after head: (seq: Int64, hash: String), next: () -> ArraySlice<PendingAudit>?
    ) throws -> (seq: Int64, hash: String) {
        try pool.write { db in
            var seq = head.seq
            let statement = try db.cachedStatement(
                sql: """
                    INSERT INTO audit(seq, time, kind, enforcer, source_ip, namespace, service_account, pod, spiffe, labels,
                        host, port, verdict, rule, rule_name, revision, dry_run_verdict, dry_run_rule, reason, original_destination, upstream, cached, bytes_up, bytes_down,
                        duration_ms, count, method, path, status, query_type, hash)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """)
            let binder = AuditRowBinder(statement)
            var row = AuditRow()
            var previous = Array(head.hash.utf8)
            while let records = next() {
                // Through the buffer: iterating the slice copied every pending
                // record (a retain and a release of each of its fields).
                try records.withUnsafeBufferPointer { records in
                    for index in records.indices {
                        seq += 1
                        row.start(seq: seq, previous: previous)
                        records[index].appendColumns(to: &row)
                        row.hash(into: &previous)
                        try binder.insert(row, hash: previous, db)
                    }
                }
            }
            return (seq, String(decoding: previous, as: UTF8.self))
        }
    }

    func queryAudit(_ query: AuditQuery) throws -> [AuditRecord] {
        var conditions: [String] = []
        var arguments: [(any DatabaseValueConvertible)?] = []
        func add(_ sql: String, _ value: (any DatabaseValueConvertible)?) {
            guard let value else { return }
            conditions.append(sql)
            arguments.append(value)
        }
        add("source_ip = ?", query.sourceIP)
        add("namespace = ?", query.namespace)
        add("pod = ?", query.pod)
        add("host = ?", query.host)
        add("verdict = ?", query.verdict)
        add("time >= ?", query.since)
        add("time < ?", query.until)
        add("seq > ?", query.after)
        let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        arguments.append(query.limit)
        return try pool.read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM audit \(whereClause) ORDER BY seq LIMIT ?",
                arguments: StatementArguments(arguments.map { $0?.databaseValue ?? .null })
            ).map(Self.auditRecord)
        }
    }

    /// The record retention dropped last, which the chain now starts from.
    func auditAnchor() throws -> (seq: Int64, hash: String)? {
        try pool.read { db in
            try Row.fetchOne(db, sql: "SELECT seq, hash FROM audit_anchor WHERE id = 1").map {
                (try $0.decode(Int64.self, forColumn: "seq"), try $0.decode(String.self, forColumn: "hash"))
            }
        }
    }

    /// Drops the oldest records, keeping at most `keepCount` and none older than
    /// `olderThan`; the last dropped record becomes the anchor the chain is
    /// verified from. Returns how many were dropped.
    func pruneAudit(keepCount: Int?, olderThan: Int64?) throws -> Int {
        try pool.write { db in
            var cutoff: Int64 = 0
            if let keepCount,
                let seq = try Int64.fetchOne(db, sql: "SELECT seq FROM audit ORDER BY seq DESC LIMIT 1 OFFSET ?", arguments: [keepCount])
            {
                cutoff = max(cutoff, seq)
            }
            // By age: everything before the first record that is young enough.
            // (Not "every record older than": an access record carries the
            // enforcer's clock, and one old time must not take newer records with it.)
            if let olderThan, let first = try Int64.fetchOne(db, sql: "SELECT MIN(seq) FROM audit WHERE time >= ?", arguments: [olderThan]) {
                cutoff = max(cutoff, first - 1)
            } else if olderThan != nil, let last = try Int64.fetchOne(db, sql: "SELECT MAX(seq) FROM audit") {
                cutoff = max(cutoff, last)
            }
            guard cutoff > 0, let hash = try String.fetchOne(db, sql: "SELECT hash FROM audit WHERE seq = ?", arguments: [cutoff]) else {
                return 0
            }
            try db.execute(
                sql: "INSERT INTO audit_anchor(id, seq, hash) VALUES (1, ?, ?) ON CONFLICT(id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
                arguments: [cutoff, hash])
            try db.execute(sql: "DELETE FROM audit WHERE seq <= ?", arguments: [cutoff])
            return db.changesCount
        }
    }

    /// A record from its row. Every cell is decoded with its type checked: a
    /// cell someone changed to another type is an error, never a crash.
    static func auditRecord(_ row: Row) throws -> AuditRecord {
        func value<T: DatabaseValueConvertible>(_ column: String) throws -> T { try row.decode(T.self, forColumn: column) }
        let kindText: String = try value("kind")
        guard let kind = AuditRecord.Kind(rawValue: kindText) else {
            throw StoreError.invalid("record kind '\(kindText)' is not decision, access or dropped")
        }
        let labels: [String: String]? = try (value("labels") as String?).map {
            try JSONDecoder().decode([String: String].self, from: Data($0.utf8))
        }
        let cached: Int64? = try value("cached")
        var record = AuditRecord(
            time: try value("time"), kind: kind, enforcer: try value("enforcer"), sourceIP: try value("source_ip"),
            namespace: try value("namespace"), serviceAccount: try value("service_account"), pod: try value("pod"),
            spiffe: try value("spiffe"), labels: labels, host: try value("host"), port: try value("port"),
            verdict: try value("verdict"), rule: try value("rule"), ruleName: try value("rule_name"),
            revision: try value("revision"), dryRunVerdict: try value("dry_run_verdict"),
            dryRunRule: try value("dry_run_rule"), reason: try value("reason"),
            originalDestination: try value("original_destination"), upstream: try value("upstream"),
            cached: cached.map { $0 != 0 }, bytesUp: try value("bytes_up"), bytesDown: try value("bytes_down"),
            durationMs: try value("duration_ms"), count: try value("count"))
        record.method = try value("method")
        record.path = try value("path")
        record.status = try value("status")
        record.queryType = try value("query_type")
        record.seq = try value("seq")
        record.hash = try value("hash")
        return record
    }
}
