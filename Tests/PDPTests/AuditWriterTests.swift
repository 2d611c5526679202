import EgressAPI
import Foundation
import GRDB
import Logging
import NIOConcurrencyHelpers
import Testing
import TestSupport

@testable import PDP

/// The audit writer and the database settings it relies on, on a real
/// SQLite file.
@Suite struct AuditWriterTests {
    let directory: URL

    init() async throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("audit-writer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    func openDatabase() throws -> PDPDatabase {
        try PDPDatabase(path: directory.appendingPathComponent("pdp.sqlite").path)
    }

    /// What the docs promise ("a commit is on disk before it returns") needs
    /// FULL on the connection that writes; GRDB's pool sets NORMAL when it
    /// turns WAL on, which once silently undid ours.
    @Test func theWritingConnectionSyncsEveryCommit() async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = try openDatabase()
        let synchronous = try await database.pool.writeWithoutTransaction { try Int.fetchOne($0, sql: "PRAGMA synchronous") }
        #expect(synchronous == 2, "PRAGMA synchronous is \(synchronous.map(String.init) ?? "nil"), not FULL (2)")
        let pageSize = try await database.pool.read { try Int.fetchOne($0, sql: "PRAGMA page_size") }
        #expect(pageSize == 16_384)
        let journal = try await database.pool.read { try String.fetchOne($0, sql: "PRAGMA journal_mode") }
        #expect(journal == "wal")
    }

    /// Counts commits on the connection it is added to.
    final class CommitCounter: TransactionObserver, @unchecked Sendable {
        var commits = 0
        func observes(eventsOfKind eventKind: DatabaseEventKind) -> Bool { true }
        func databaseDidChange(with event: DatabaseEvent) {}
        func databaseDidCommit(_ db: Database) { commits += 1 }
        func databaseDidRollback(_ db: Database) {}
    }

    /// The trail's hosts in sequence order.
    func hosts(in database: PDPDatabase) throws -> [String] {
        var query = AuditQuery()
        query.limit = 1000
        return try database.queryAudit(query).map(\.host)
    }

    static func record(_ i: Int) -> AuditRecord {
        AuditRecord(
            time: 1_795_738_498_000 + Int64(i), kind: .access, enforcer: "token:test", sourceIP: "198.18.0.\(i % 200 + 1)",
            host: "h\(i).example.com", port: 443, verdict: "allow")
    }

    /// What `next` gives while one transaction is open is committed once,
    /// chained in order: what lets the writer gather bursts.
    @Test func chunksGivenToOneTransactionAreOneCommit() async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = try openDatabase()
        let counter = CommitCounter()
        database.pool.add(transactionObserver: counter)
        let chunks = (0..<3).map { chunk in (0..<40).map { PendingAudit(Self.record(chunk * 40 + $0)) } }
        var given = 0
        let head = try database.appendAudit(after: (0, AuditChain.genesis)) {
            defer { given += 1 }
            return given < chunks.count ? chunks[given][...] : nil
        }
        let commits = try await database.pool.writeWithoutTransaction { _ in counter.commits }
        #expect(commits == 1)
        #expect(head.seq == 120)
        let verification = try database.verifyAudit()
        #expect(verification.valid && verification.records == 120)
        #expect(try hosts(in: database) == (0..<120).map { "h\($0).example.com" })
    }

    /// A gathered transaction that fails is written again as it was: every
    /// record once, in order, on the unchanged head; waiters are told only
    /// once their records are committed. Inserting the third burst fails
    /// until the test lets it: when the bursts were gathered into one
    /// transaction (2 ms apart, the usual case), all three roll back and are
    /// written again together.
    @Test func aFailedTransactionIsWrittenAgainWhole() async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = try openDatabase()
        // A trigger on the writing connection stands in for a disk that
        // refuses writes: twice, counted by a function, so that no clock is
        // involved (a third failure would tell the waiters).
        let refusals = NIOLockedValueBox(0)
        let refuseTwice = DatabaseFunction("refuse_twice", argumentCount: 0, pure: false) { _ in
            refusals.withLockedValue { count in
                count += 1
                return count <= 2 ? 1 : 0
            }
        }
        try await database.pool.writeWithoutTransaction { db in
            db.add(function: refuseTwice)
            try db.execute(sql: """
                CREATE TEMP TRIGGER refuse BEFORE INSERT ON audit
                WHEN NEW.host = 'h45.example.com' AND refuse_twice() = 1
                BEGIN SELECT RAISE(ABORT, 'the disk refuses'); END;
                """)
        }
        let writer = try AuditWriter(database: database, metrics: PDPMetrics(), logger: Logger(label: "test"))
        writer.start()
        let outcomes = NIOLockedValueBox<[(burst: Int, error: Bool)]>([])
        for burst in 0..<3 {
            writer.append((0..<20).map { Self.record(burst * 20 + $0) }) { error in
                outcomes.withLockedValue { $0.append((burst, error != nil)) }
            }
            await pause(0.002)
        }
        for _ in 0..<200 where outcomes.withLockedValue({ $0.count }) < 3 { await pause(0.05) }
        writer.stop()
        let seen = outcomes.withLockedValue { $0 }
        #expect(refusals.withLockedValue { $0 } == 3, "two refused attempts and the one that went through")
        #expect(seen.map(\.burst) == [0, 1, 2])
        #expect(seen.allSatisfy { !$0.error })
        let verification = try database.verifyAudit()
        #expect(verification.valid)
        #expect(verification.records == 60)
        #expect(try hosts(in: database) == (0..<60).map { "h\($0).example.com" })
    }

    /// Bursts that arrive while a transaction gathers are committed with it,
    /// and no burst's callback runs before its records can be read by another
    /// connection: an access report is confirmed only once it is stored.
    @Test func gatheredBurstsAreConfirmedOnlyOnceCommitted() async throws {
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
            await pause(0.002)
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
