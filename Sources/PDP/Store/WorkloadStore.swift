import EgressAPI
import Foundation
import GRDB

extension PDPDatabase {
    /// The whole inventory and its generation, which grows with every change.
    func workloads() throws -> (generation: Int64, workloads: [Workload]) {
        try pool.read { db in
            let generation = try setting("inventory_generation", db) ?? 0
            let rows = try Row.fetchAll(db, sql: "SELECT * FROM workload ORDER BY namespace, pod")
            return (generation, try rows.map(Self.workload))
        }
    }

    /// Adds or replaces one workload; returns the new generation.
    func putWorkload(_ workload: Workload) throws -> Int64 {
        try pool.write { db in
            try insert(workload, db)
            return try bumpGeneration(db)
        }
    }

    /// Removes one workload; returns the new generation, or `nil` if there was none.
    func deleteWorkload(namespace: String, pod: String) throws -> Int64? {
        try pool.write { db in
            try db.execute(sql: "DELETE FROM workload WHERE namespace = ? AND pod = ?", arguments: [namespace, pod])
            return db.changesCount == 0 ? nil : try bumpGeneration(db)
        }
    }

    /// Replaces the whole inventory in one transaction.
    func replaceWorkloads(_ workloads: [Workload]) throws -> Int64 {
        try pool.write { db in
            try db.execute(sql: "DELETE FROM workload")
            for workload in workloads { try insert(workload, db) }
            return try bumpGeneration(db)
        }
    }

    private func insert(_ w: Workload, _ db: Database) throws {
        try db.execute(
            sql: """
                INSERT INTO workload(namespace, pod, service_account, labels, namespace_labels, spiffe, ips)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(namespace, pod) DO UPDATE SET service_account = excluded.service_account,
                    labels = excluded.labels, namespace_labels = excluded.namespace_labels, spiffe = excluded.spiffe,
                    ips = excluded.ips
                """,
            arguments: [
                w.namespace, w.pod, w.serviceAccount, try Self.json(w.labels),
                w.namespaceLabels.isEmpty ? nil : try Self.json(w.namespaceLabels), w.spiffe, try Self.json(w.ips),
            ])
    }

    private func bumpGeneration(_ db: Database) throws -> Int64 {
        let next = (try setting("inventory_generation", db) ?? 0) + 1
        try setSetting("inventory_generation", next, db)
        return next
    }

    static func json<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static func workload(_ row: Row) throws -> Workload {
        let labels = try JSONDecoder().decode([String: String].self, from: Data((row["labels"] as String).utf8))
        let ips = try JSONDecoder().decode([String].self, from: Data((row["ips"] as String).utf8))
        // NULL in rows written before namespace labels existed, and when there are none.
        let namespaceLabels = try (row["namespace_labels"] as String?).map {
            try JSONDecoder().decode([String: String].self, from: Data($0.utf8))
        }
        return Workload(
            namespace: row["namespace"], pod: row["pod"], serviceAccount: row["service_account"], labels: labels,
            namespaceLabels: namespaceLabels ?? [:], spiffe: row["spiffe"], ips: ips)
    }
}
