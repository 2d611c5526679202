import Foundation
import Testing
import TestSupport
import ServiceTestSupport

/// What an intruder holding an enforcer's or a viewer's token can send the
/// service's admin side and audit trail, on a real service and SQLite file:
/// every piece of it is refused with a clear answer and nothing stored is
/// ever misread.
@Suite(.serialized) struct HardeningTests {
    func sqlite(_ database: String, _ sql: String) async throws {
        let run = try await runCommand("/usr/bin/sqlite3", [database, sql])
        #expect(run.status == 0, "sqlite3 \(sql): \(run.err)")
    }

    func decisions(_ pdp: PDPProcess, _ count: Int) async throws {
        let pep = try await pdp.token("pep", name: "burst-\(UUID().uuidString.prefix(6))")
        for i in 0..<count {
            let answer = try await pdp.decide(#"{"source": {"ip": "198.18.0.\#(i + 1)"}, "host": "h\#(i).example.com"}"#, token: pep)
            #expect(answer.status == 200)
        }
        #expect(try await pdp.waitForAudit(records: count) == count)
    }

    // MARK: Control characters

    @Test func aNulInAnyFieldFromAnEnforcerIsRefusedAndNamed() async throws {
        let pdp = try await PDPProcess.start()
        let pep = try await pdp.token("pep-identity", name: "sidecar")
        var answer = try await pdp.decide(#"{"source": {"ip": "198.18.0.1"}, "host": "api.stripe.com\u0000.evil.example"}"#, token: pep)
        #expect(answer.status == 400)
        #expect(answer.body.contains("'host' contains the control character U+0000"))
        answer = try await pdp.decide(#"{"source": {"namespace": "shop\u0000x"}, "host": "api.stripe.com"}"#, token: pep)
        #expect(answer.status == 400)
        #expect(answer.body.contains("'source.namespace'"))
        answer = try await Curl.run([
            "--http2-prior-knowledge", "-X", "POST", pdp.decisionURL + "/v1/access", "-H", "authorization: Bearer \(pep)",
            "-H", "content-type: application/json", "-d",
            #"{"connections": [{"sourceIP": "198.18.0.1", "host": "api.stripe.com\u0000.evil.example", "port": 443, "verdict": "deny", "reason": "policy"}]}"#,
        ])
        #expect(answer.status == 400)
        #expect(answer.body.contains("connections[0].host"))
        // Nothing was recorded, and the trail verifies.
        let verify = try #require(try await pdp.admin("GET", "/v1/audit/verify").json)
        #expect(verify["valid"] as? Bool == true)
        #expect(verify["records"] as? Int == 0)
    }

    // MARK: Verification

    @Test func verificationReportsEveryBreakAndGoesOnPastTheFirst() async throws {
        let pdp = try await PDPProcess.start()
        try await decisions(pdp, 10)
        await pdp.stop()
        try await sqlite(pdp.databasePath, "UPDATE audit SET host = 'innocent.example.com' WHERE seq IN (3, 8)")
        let again = try await PDPProcess.start(directory: pdp.directory)
        let result = try #require(try await again.admin("GET", "/v1/audit/verify").json)
        #expect(result["valid"] as? Bool == false)
        #expect(result["breakCount"] as? Int == 2)
        let breaks = (result["breaks"] as? [[String: Any]] ?? []).compactMap { $0["seq"] as? Int }
        #expect(breaks == [3, 8])

        let ctl = try await runCommand(
            PDPProcess.binaries.appendingPathComponent("egressctl").path,
            ["audit", "verify", "--server", again.adminURL, "--token-file", pdp.directory.appendingPathComponent("data/admin.token").path])
        #expect(ctl.status == 1)
        #expect(ctl.out.contains("BROKEN in 2 places"))
        #expect(ctl.out.contains("record 3:") && ctl.out.contains("record 8:"))
    }

    @Test func anEmptiedTrailDoesNotVerify() async throws {
        let pdp = try await PDPProcess.start()
        try await decisions(pdp, 6)
        let head = try #require(try await pdp.admin("GET", "/v1/audit/head").json)
        let headHash = try #require(head["hash"] as? String)
        // Emptied under the running service: its own head says 6.
        try await sqlite(pdp.databasePath, "DELETE FROM audit")
        var result = try #require(try await pdp.admin("GET", "/v1/audit/verify").json)
        #expect(result["valid"] as? Bool == false)
        #expect((result["problem"] as? String)?.contains("records were removed") == true)

        // After a restart the service's head is gone with the records; a
        // head recorded outside still catches it.
        await pdp.stop()
        let again = try await PDPProcess.start(directory: pdp.directory)
        result = try #require(try await again.admin("GET", "/v1/audit/verify?headSeq=6&headHash=\(headHash)").json)
        #expect(result["valid"] as? Bool == false)
        let ctl = try await runCommand(
            PDPProcess.binaries.appendingPathComponent("egressctl").path,
            ["audit", "verify", "--head", "6:\(headHash)", "--server", again.adminURL, "--token-file",
             pdp.directory.appendingPathComponent("data/admin.token").path])
        #expect(ctl.status == 1)
        #expect(ctl.out.contains("the head is record 6"))
        #expect(try await again.admin("GET", "/v1/audit/verify?headSeq=6").status == 400)
    }

    // MARK: Names

    @Test func tokenNamesAreUniqueAndPrintable() async throws {
        let pdp = try await PDPProcess.start()
        _ = try await pdp.token("pep", name: "node-a")
        var answer = try await pdp.admin("POST", "/v1/tokens", body: #"{"name": "node-a", "role": "pep"}"#)
        #expect(answer.status == 409)
        #expect(answer.body.contains("already named 'node-a'"))
        answer = try await pdp.admin("POST", "/v1/tokens", body: #"{"name": "node\u001b[2Jb", "role": "pep"}"#)
        #expect(answer.status == 400)
        #expect(answer.body.contains("U+001B"))
    }

    @Test func workloadNamesFollowKubernetesRulesOnEveryAdminPath() async throws {
        let pdp = try await PDPProcess.start()
        var answer = try await pdp.admin("PUT", "/v1/workloads/shop/a%00b", body: #"{"serviceAccount": "checkout", "ips": ["198.18.0.5"]}"#)
        #expect(answer.status == 400)
        answer = try await pdp.admin("PUT", "/v1/workloads/Shop/web-1", body: #"{"ips": ["198.18.0.5"]}"#)
        #expect(answer.status == 400)
        answer = try await pdp.admin("PUT", "/v1/workloads", body: #"{"workloads": [{"namespace": "shop", "pod": "a\u0000", "ips": []}]}"#)
        #expect(answer.status == 400)
        answer = try await pdp.admin("DELETE", "/v1/workloads/shop/a%00b")
        #expect(answer.status == 400)
        // A good name still works, and nothing bad was stored.
        answer = try await pdp.admin("PUT", "/v1/workloads/shop/a", body: #"{"ips": ["198.18.0.5"]}"#)
        #expect(answer.status == 200)
        let list = try #require(try await pdp.admin("GET", "/v1/workloads").json?["workloads"] as? [[String: Any]])
        #expect(list.compactMap { $0["pod"] as? String } == ["a"])
    }

    @Test(arguments: ["..\\x.egress", "a/../b.egress", "/etc/x.egress", "a\u{0}.egress", "a\nb.egress", "\u{202E}ssergE.egress", "x.txt"])
    func revisionPathsMustBePlainRelativeEgressPaths(_ path: String) async throws {
        let pdp = try await PDPProcess.start()
        let body = try JSONSerialization.data(withJSONObject: ["files": [["path": path, "content": "allow * -> a.example.com\n"]]])
        let answer = try await pdp.admin("POST", "/v1/revisions", body: String(decoding: body, as: UTF8.self))
        #expect(answer.status == 422)
        #expect(answer.body.contains("policy file path"))
    }

    // MARK: Policy checks

    /// Rules that the shadowed-rule check cannot index (a positive and a
    /// negated term on one label key), many enough to take a while.
    static func slowPolicy(_ count: Int) -> String {
        let body = (0..<count).map { "allow app!=a\($0) -> api.example.com as n\($0)\nallow app=b\($0) -> api.example.com as p\($0)\n" }
        let text = body.joined()
        let data = try? JSONSerialization.data(withJSONObject: ["files": [["path": "slow.egress", "content": text]]])
        return String(decoding: data ?? Data(), as: UTF8.self)
    }

    @Test func aCheckThatTakesTooLongIsRefusedAndTheServiceKeepsAnswering() async throws {
        let pdp = try await PDPProcess.start(["--policy-check-timeout", "0.2"])
        let file = pdp.directory.appendingPathComponent("slow.json")
        try Self.slowPolicy(3000).write(to: file, atomically: true, encoding: .utf8)
        let answer = try await Curl.run([
            "-X", "POST", pdp.adminURL + "/v1/revisions/validate", "-H", "authorization: Bearer \(pdp.adminToken)",
            "-H", "content-type: application/json", "--data-binary", "@" + file.path,
        ])
        #expect(answer.status == 422)
        #expect(answer.body.contains("could not be checked within"))
        #expect(try await Curl.run([pdp.adminURL + "/healthz"]).status == 200)
        let many = (0..<6).map { ["path": "f\($0).egress", "content": "allow * -> a.example.com\n"] }
        let body = try JSONSerialization.data(withJSONObject: ["files": many])
        let tooMany = try await PDPProcess.start(["--max-policy-files", "5"], directory: nil)
        let refused = try await tooMany.admin("POST", "/v1/revisions/validate", body: String(decoding: body, as: UTF8.self))
        #expect(refused.status == 413)
        #expect(refused.body.contains("at most 5 policy files"))
    }

    @Test func aCheckEndsWhenItsClientGoesAway() async throws {
        let pdp = try await PDPProcess.start(["--policy-check-timeout", "120"])
        let file = pdp.directory.appendingPathComponent("slow.json")
        try Self.slowPolicy(6000).write(to: file, atomically: true, encoding: .utf8)
        let gone = try await Curl.run(
            [
                "-X", "POST", pdp.adminURL + "/v1/revisions/validate", "-H", "authorization: Bearer \(pdp.adminToken)",
                "-H", "content-type: application/json", "--data-binary", "@" + file.path,
            ], timeout: 1)
        #expect(gone.status == 0, "the check should outlast curl's 1 s: \(gone)")
        // The check stops soon after, counted as refused (cancelled).
        let deadline = Date().addingTimeInterval(10)
        var refused = false
        while Date() < deadline, !refused {
            let metrics = try await Curl.run([pdp.adminURL + "/metrics"]).body
            refused = metrics.contains("egress_pdp_policy_checks_refused_total 1")
            if !refused { await pause(0.1) }
        }
        #expect(refused)
        #expect(try await Curl.run([pdp.adminURL + "/healthz"]).status == 200)
    }

    @Test func sigtermDuringALongCheckStopsWithinTheGracePeriod() async throws {
        let pdp = try await PDPProcess.start(["--policy-check-timeout", "120"])
        let file = pdp.directory.appendingPathComponent("slow.json")
        try Self.slowPolicy(6000).write(to: file, atomically: true, encoding: .utf8)
        let client = Process()
        client.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        client.arguments = [
            "-sS", "-o", "/dev/null", "-X", "POST", pdp.adminURL + "/v1/revisions/validate", "-H", "authorization: Bearer \(pdp.adminToken)",
            "-H", "content-type: application/json", "--data-binary", "@" + file.path,
        ]
        try client.run()
        await pause(1)
        let started = Date()
        #expect(await pdp.stop(SIGTERM) == 0)
        #expect(Date().timeIntervalSince(started) < 10)
        #expect(!pdp.log.contains("Cannot schedule tasks"))
        client.waitUntilExit()
    }

    /// Verification of a long trail runs on the check thread, not in the
    /// request: the service keeps answering meanwhile, and a walk whose
    /// client has gone stops (counted as a refused check).
    @Test func verifyingALongTrailStopsWhenItsClientGoes() async throws {
        let pdp = try await PDPProcess.start()
        await pdp.stop()
        // 2,000,000 records written behind the service's back (their hashes
        // do not link up; the walk checks every one all the same).
        try await sqlite(
            pdp.databasePath,
            """
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000000)
            INSERT INTO audit(seq, time, kind, enforcer, host, port, verdict, hash)
            SELECT i, i, 'decision', 'token:x', 'h.example.com', 443, 'deny', printf('%064d', i) FROM n;
            """)
        let again = try await PDPProcess.start(directory: pdp.directory)
        let gone = try await Curl.run(
            [again.adminURL + "/v1/audit/verify", "-H", "authorization: Bearer \(again.adminToken)"], timeout: 1)
        #expect(gone.status == 0, "the walk should outlast curl's 1 s: \(gone)")
        #expect(try await Curl.run([again.adminURL + "/healthz"]).status == 200)
        let deadline = Date().addingTimeInterval(20)
        var refused = false
        while Date() < deadline, !refused {
            refused = try await Curl.run([again.adminURL + "/metrics"]).body.contains("egress_pdp_policy_checks_refused_total 1")
            if !refused { await pause(0.1) }
        }
        #expect(refused, "the walk did not stop after its client left")
    }
}
