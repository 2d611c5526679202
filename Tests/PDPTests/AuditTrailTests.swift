import Foundation
import Testing
import TestSupport
import ServiceTestSupport

/// The hash-chained audit trail on a real SQLite file: tampering is found,
/// shutdown and crashes lose nothing acknowledged, retention keeps the chain
/// verifiable.
@Suite(.serialized) struct AuditTrailTests {
    func decisions(_ pdp: PDPProcess, _ count: Int) async throws {
        let pep = try await pdp.token("pep", name: "burst")
        for i in 0..<count {
            let answer = try await pdp.decide(#"{"source": {"ip": "198.18.0.\#(i % 200 + 1)"}, "host": "h\#(i).example.com"}"#, token: pep)
            #expect(answer.status == 200)
        }
    }

    func sqlite(_ database: String, _ sql: String) async throws {
        let run = try await runCommand("/usr/bin/sqlite3", [database, sql])
        #expect(run.status == 0, "sqlite3 \(sql): \(run.err)")
    }

    func verification(_ pdp: PDPProcess) async throws -> [String: Any] {
        try #require(try await pdp.admin("GET", "/v1/audit/verify").json)
    }

    /// Changes the (stopped) service's database behind its back, starts it
    /// again on it and returns what verification says.
    func verification(after sql: String, on pdp: PDPProcess) async throws -> [String: Any] {
        try await sqlite(pdp.databasePath, sql)
        let again = try await PDPProcess.start(directory: pdp.directory)
        let result = try await verification(again)
        // Still running after answering, and it stops cleanly: no crash.
        #expect(await again.stop() == 0)
        return result
    }

    @Test func editingOrDeletingARecordIsDetected() async throws {
        let pdp = try await PDPProcess.start()
        try await decisions(pdp, 10)
        #expect(try await pdp.waitForAudit(records: 10) == 10)
        let intact = try await verification(pdp)
        #expect(intact["valid"] as? Bool == true)
        #expect(intact["records"] as? Int == 10)
        await pdp.stop()

        // Someone with the file rewrites one record's host...
        var result = try await verification(after: "UPDATE audit SET host = 'innocent.example.com' WHERE seq = 4", on: pdp)
        #expect(result["valid"] as? Bool == false)
        #expect(result["brokenAt"] as? Int == 4)

        // ...or deletes one.
        result = try await verification(after: "DELETE FROM audit WHERE seq = 7", on: pdp)
        #expect(result["valid"] as? Bool == false)
        #expect(result["brokenAt"] as? Int == 4)
        result = try await verification(after: "UPDATE audit SET host = 'h3.example.com' WHERE seq = 4", on: pdp)
        #expect(result["brokenAt"] as? Int == 8)
        #expect((result["problem"] as? String)?.contains("record 7 is missing") == true)
        let again = try await PDPProcess.start(directory: pdp.directory)

        // egressctl says so too, and fails.
        let ctl = try await runCommand(
            PDPProcess.binaries.appendingPathComponent("egressctl").path,
            ["audit", "verify", "--server", again.adminURL, "--token-file", pdp.directory.appendingPathComponent("data/admin.token").path])
        #expect(ctl.status == 1)
        #expect(ctl.out.contains("audit chain BROKEN in 1 place"))
        #expect(ctl.out.contains("record 8: record 7 is missing"))
    }

    @Test func sigtermWritesEveryQueuedRecordAndExitsCleanly() async throws {
        let pdp = try await PDPProcess.start()
        try await decisions(pdp, 50)
        #expect(await pdp.stop(SIGTERM) == 0)
        #expect(pdp.log.contains("audit trail flushed"))
        let again = try await PDPProcess.start(directory: pdp.directory)
        let result = try await verification(again)
        #expect(result["valid"] as? Bool == true)
        #expect(result["records"] as? Int == 50)
    }

    /// kill -9 in the middle of a burst: the database opens again, the chain
    /// verifies, and every access report that was acknowledged is there.
    @Test func aCrashLeavesAConsistentStore() async throws {
        let pdp = try await PDPProcess.start()
        let pep = try await pdp.token("pep")
        _ = try await pdp.admin("POST", "/v1/revisions", body: AdminAPITests.allowA)
        var acknowledged = 0
        for i in 0..<20 {
            let answer = try await Curl.run([
                "--http2-prior-knowledge", "-X", "POST", pdp.decisionURL + "/v1/access", "-H", "authorization: Bearer \(pep)",
                "-H", "content-type: application/json",
                "-d", #"{"connections": [{"sourceIP": "198.18.0.1", "host": "c\#(i).example.com", "port": 443, "verdict": "deny"}]}"#,
            ])
            if answer.status == 202 { acknowledged += 1 }
        }
        // A burst of decisions still in flight when the process dies.
        let burst = Process()
        burst.executableURL = URL(fileURLWithPath: "/usr/bin/h2load")
        let body = pdp.directory.appendingPathComponent("body.json")
        try #"{"source": {"ip": "198.18.0.1"}, "host": "a.example.com"}"#.write(to: body, atomically: true, encoding: .utf8)
        burst.arguments = ["-n", "100000", "-c", "2", "-m", "16", "-d", body.path, "-H", "authorization: Bearer \(pep)",
                           "-H", "content-type: application/json", pdp.decisionURL + "/v1/decisions"]
        burst.standardOutput = FileHandle.nullDevice
        try burst.run()
        await pause(0.5)
        await pdp.stop(SIGKILL)
        burst.waitUntilExit()

        let again = try await PDPProcess.start(directory: pdp.directory)
        let result = try await verification(again)
        #expect(result["valid"] as? Bool == true, "\(result)")
        let reported = try #require(try await again.admin("GET", "/v1/audit?verdict=deny&limit=1000").json?["records"] as? [[String: Any]])
        #expect(reported.filter { $0["kind"] as? String == "access" }.count == acknowledged)
        #expect(try await again.admin("GET", "/v1/revisions").json?["active"] as? Int == 1)
    }

    @Test func retentionDropsOldRecordsAndTheChainStillVerifies() async throws {
        let pdp = try await PDPProcess.start()
        try await decisions(pdp, 30)
        #expect(try await pdp.waitForAudit(records: 30) == 30)
        await pdp.stop()
        let again = try await PDPProcess.start(["--audit-max-records", "10"], directory: pdp.directory)
        let result = try await verification(again)
        #expect(result["valid"] as? Bool == true, "\(result)")
        #expect(result["records"] as? Int == 10)
        #expect(result["firstSeq"] as? Int == 21)
        #expect(result["anchorSeq"] as? Int == 20)
        #expect((result["anchorHash"] as? String)?.count == 64)
        #expect(again.log.contains("anchorSeq=20"))
        #expect(again.log.contains("audit retention dropped old records"))
    }

    /// A cell changed to another type, or a kind that is no kind: reported
    /// as a broken chain, and the service stays up.
    @Test func unreadableOrForgedCellsBreakTheChainWithoutACrash() async throws {
        let pdp = try await PDPProcess.start()
        try await decisions(pdp, 5)
        #expect(try await pdp.waitForAudit(records: 5) == 5)
        await pdp.stop()
        var result = try await verification(after: "UPDATE audit SET kind = 'forged' WHERE seq = 2", on: pdp)
        #expect(result["valid"] as? Bool == false)
        #expect(result["brokenAt"] as? Int == 2)
        result = try await verification(after: "UPDATE audit SET kind = 'decision', port = 'x' WHERE seq = 2", on: pdp)
        #expect(result["valid"] as? Bool == false)
        #expect(result["brokenAt"] as? Int == 2)
        #expect((result["problem"] as? String)?.contains("cannot be read") == true)

    }
}
