import EgressAPI
import Foundation
import GRDB
import Logging
import NIOConcurrencyHelpers
import Testing

@testable import PDP

/// The audit writer and the database settings it relies on, on a real
/// SQLite file.
@Suite struct AuditWriterTests {
    let directory: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("audit-writer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    func openDatabase() throws -> PDPDatabase {
        try PDPDatabase(path: directory.appendingPathComponent("pdp.sqlite").path)
    }

    /// What the docs promise ("a commit is on disk before it returns") needs
    /// FULL on the connection that writes; GRDB's pool sets NORMAL when it
    /// turns WAL on, which once silently undid ours.
    @Test func theWritingConnectionSyncsEveryCommit() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = try openDatabase()
        let synchronous = try database.pool.writeWithoutTransaction { try Int.fetchOne($0, sql: "PRAGMA synchronous") }
        #expect(synchronous == 2, "PRAGMA synchronous is \(synchronous.map(String.init) ?? "nil"), not FULL (2)")
        let pageSize = try database.pool.read { try Int.fetchOne($0, sql: "PRAGMA page_size") }
        #expect(pageSize == 16_384)
        let journal = try database.pool.read { try String.fetchOne($0, sql: "PRAGMA journal_mode") }
        #expect(journal == "wal")
    }

    /// Bursts that arrive while a transaction gathers are committed with it,
    /// and no burst's callback runs before its records can be read by another
    /// connection: an access report is confirmed only once it is stored.
    @Test func gatheredBurstsAreConfirmedOnlyOnceCommitted() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = try openDatabase()
        let writer = try AuditWriter(database: database, metrics: PDPMetrics(), logger: Logger(label: "test"))
        writer.start()
        let confirmations = NIOLockedValueBox<[(burst: Int, visible: Int)]>([])
        let bursts = 6
        let perBurst = 50
        for burst in 0..<bursts {
            let records = (0..<perBurst).map { i in
                AuditRecord(
                    time: 1_795_738_498_000 + Int64(burst * perBurst + i), kind: .access, enforcer: "token:test",
                    sourceIP: "198.18.0.\(i + 1)", host: "h\(burst).example.com", port: 443, verdict: "allow")
            }
            writer.append(records) { error in
                #expect(error == nil)
                // Read on a reader connection, as an audit query would.
                let visible = (try? database.pool.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM audit") }) ?? -1
                confirmations.withLockedValue { $0.append((burst, visible)) }
            }
            // Within one transaction's gathering time (10 ms).
            Thread.sleep(forTimeInterval: 0.002)
        }
        writer.stop()
        let seen = confirmations.withLockedValue { $0 }
        #expect(seen.map(\.burst) == Array(0..<bursts))
        for (burst, visible) in seen {
            #expect(visible >= (burst + 1) * perBurst, "burst \(burst) confirmed with only \(visible) records readable")
        }
        let verification = try database.verifyAudit()
        #expect(verification.valid)
        #expect(verification.records == bursts * perBurst)
    }
}
