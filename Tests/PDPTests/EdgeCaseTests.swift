import Foundation
import Testing
import ServiceTestSupport

/// Edge cases found in review: each was a wrong answer, a hang or a 500.
@Suite(.serialized) struct EdgeCaseTests {
    @Test func twoFilesWithOnePathAreRefusedNotA500() async throws {
        let pdp = try await PDPProcess.start()
        let answer = try await pdp.admin(
            "POST", "/v1/revisions",
            body: #"{"files": [{"path": "a.egress", "content": ""}, {"path": "a.egress", "content": ""}]}"#)
        #expect(answer.status == 422, "\(answer)")
        #expect((answer.json?["diagnostics"] as? [[String: Any]])?.first?["message"] as? String == "two files have the path 'a.egress'")
    }

    /// `--policies` seeds an empty database only: once a revision is active,
    /// the service starts on it even if the directory has gone since, and
    /// nothing in the directory replaces it.
    @Test func aStoredRevisionOutlivesItsSeedDirectory() async throws {
        let seed = FileManager.default.temporaryDirectory.appendingPathComponent("seed-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: seed, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: seed) }
        try "allow * -> a.example.com\n".write(to: seed.appendingPathComponent("a.egress"), atomically: false, encoding: .utf8)
        let pdp = try await PDPProcess.start(["--policies", seed.path])
        #expect(try await pdp.admin("GET", "/v1/revisions").body.contains("initial policy from"))
        #expect(await pdp.stop() == 0)
        try FileManager.default.removeItem(at: seed)
        let again = try await PDPProcess.start(["--policies", seed.path], directory: pdp.directory)
        let pep = try await again.token("pep")
        #expect(try await again.decide(#"{"source": {"ip": "198.18.0.1"}, "host": "a.example.com"}"#, token: pep).json?["verdict"] as? String == "allow")
        #expect(await again.stop() == 0)
        // A directory with other files is not read either.
        try FileManager.default.createDirectory(at: seed, withIntermediateDirectories: true)
        try "allow * -> b.example.com\n".write(to: seed.appendingPathComponent("b.egress"), atomically: false, encoding: .utf8)
        let third = try await PDPProcess.start(["--policies", seed.path], directory: pdp.directory)
        let a = try await third.decide(#"{"source": {"ip": "198.18.0.1"}, "host": "a.example.com"}"#, token: pep).json
        let b = try await third.decide(#"{"source": {"ip": "198.18.0.1"}, "host": "b.example.com"}"#, token: pep).json
        #expect(a?["verdict"] as? String == "allow" && b?["verdict"] as? String == "deny")
        #expect(a?["revision"] as? Int == 1)
        #expect(await third.stop() == 0)
    }

    @Test func oneWorkloadCannotTakeAnothersAddressOrSpiffeID() async throws {
        let pdp = try await PDPProcess.start()
        #expect(try await pdp.admin("PUT", "/v1/workloads/a/p", body: #"{"ips": ["198.18.0.1"], "spiffe": "spiffe://t/a"}"#).status == 200)
        let address = try await pdp.admin("PUT", "/v1/workloads/b/q", body: #"{"ips": ["198.18.0.1"]}"#)
        #expect(address.status == 400)
        #expect((address.json?["error"] as? String)?.contains("held by both a/p and b/q") == true)
        let spiffe = try await pdp.admin("PUT", "/v1/workloads/b/q", body: #"{"spiffe": "spiffe://t/a"}"#)
        #expect(spiffe.status == 400)
        // The same workload may be replaced with its own address.
        #expect(try await pdp.admin("PUT", "/v1/workloads/a/p", body: #"{"ips": ["198.18.0.1", "198.18.0.2"]}"#).status == 200)
        // Path segments are percent-decoded.
        #expect(try await pdp.admin("PUT", "/v1/workloads/shop/web%2D1", body: #"{"ips": ["198.18.0.9"]}"#).status == 200)
        let names = (try await pdp.admin("GET", "/v1/workloads").json?["workloads"] as? [[String: Any]])?.compactMap { $0["pod"] as? String }
        #expect(names?.contains("web-1") == true)
    }

    @Test func anEmptyAccessReportIsAnsweredAtOnce() async throws {
        let pdp = try await PDPProcess.start()
        let pep = try await pdp.token("pep")
        let answer = try await Curl.run([
            "--http2-prior-knowledge", "--max-time", "3", "-X", "POST", pdp.decisionURL + "/v1/access?source=test",
            "-H", "authorization: Bearer \(pep)", "-H", "content-type: application/json", "-d", #"{"connections": []}"#,
        ])
        #expect(answer.status == 202, "\(answer)")
        #expect(answer.json?["accepted"] as? Int == 0)
        let unauthorized = try await Curl.run(["--http2-prior-knowledge", "-i", "-X", "POST", pdp.decisionURL + "/v1/decisions"])
        #expect(unauthorized.body.lowercased().contains("www-authenticate: bearer"))
    }

    @Test func dryRunVerdictsThatDifferAreAudited() async throws {
        let pdp = try await PDPProcess.start()
        let pep = try await pdp.token("pep-identity")
        let policy = #"allow ns:shop -> *.example.com\ndeny  ns:shop -> x.example.com as trial dry-run\n"#
        #expect(try await pdp.admin("POST", "/v1/revisions", body: #"{"files": [{"path": "a.egress", "content": "\#(policy)"}]}"#).status == 201)
        _ = try await pdp.decide(#"{"source": {"namespace": "shop"}, "host": "x.example.com"}"#, token: pep)
        _ = try await pdp.decide(#"{"source": {"namespace": "shop"}, "host": "y.example.com"}"#, token: pep)
        _ = try await pdp.waitForAudit(records: 2)
        let records = try #require(try await pdp.admin("GET", "/v1/audit").json?["records"] as? [[String: Any]])
        #expect(records.first?["verdict"] as? String == "allow")
        #expect(records.first?["dryRunVerdict"] as? String == "deny")
        #expect(records.first?["dryRunRule"] as? String == "a.egress:2")
        #expect(records.last?["dryRunVerdict"] == nil)
    }

    @Test func theAuditSourceFilterTakesAnyAddressSpelling() async throws {
        let pdp = try await PDPProcess.start()
        let pep = try await pdp.token("pep")
        _ = try await pdp.decide(#"{"source": {"ip": "198.18.4.4"}, "host": "a.com"}"#, token: pep)
        _ = try await pdp.waitForAudit(records: 1)
        let records = try await pdp.admin("GET", "/v1/audit?sourceIP=::ffff:198.18.4.4").json?["records"] as? [[String: Any]]
        #expect(records?.count == 1)
    }

    @Test func anOldEnforcerClockDoesNotMakeRetentionDropNewRecords() async throws {
        let pdp = try await PDPProcess.start()
        let pep = try await pdp.token("pep")
        for i in 0..<3 { _ = try await pdp.decide(#"{"host": "before\#(i).com"}"#, token: pep) }
        _ = try await Curl.run([
            "--http2-prior-knowledge", "-X", "POST", pdp.decisionURL + "/v1/access", "-H", "authorization: Bearer \(pep)",
            "-H", "content-type: application/json",
            "-d", #"{"connections": [{"time": 1000, "sourceIP": "198.18.0.1", "host": "old.com", "port": 443, "verdict": "deny"}]}"#,
        ])
        for i in 0..<3 { _ = try await pdp.decide(#"{"host": "after\#(i).com"}"#, token: pep) }
        #expect(try await pdp.waitForAudit(records: 7) == 7)
        await pdp.stop()
        let again = try await PDPProcess.start(["--audit-max-age-days", "1"], directory: pdp.directory)
        let result = try #require(try await again.admin("GET", "/v1/audit/verify").json)
        #expect(result["valid"] as? Bool == true)
        #expect(result["records"] as? Int == 7)
    }

    @Test func newAdminTokenIsTheWayBackInAfterEveryAdminTokenIsRevoked() async throws {
        let pdp = try await PDPProcess.start()
        let tokens = try #require(try await pdp.admin("GET", "/v1/tokens").json?["tokens"] as? [[String: Any]])
        let id = try #require(tokens.first?["id"] as? String)
        #expect(try await pdp.admin("DELETE", "/v1/tokens/\(id)").status == 204)
        #expect(try await pdp.admin("GET", "/v1/tokens").status == 401)
        await pdp.stop()
        let again = try await PDPProcess.start(["--new-admin-token"], directory: pdp.directory)
        #expect(try await again.admin("GET", "/v1/tokens").status == 200)
        #expect(again.log.contains("wrote a new admin token (--new-admin-token)"))
    }
}

/// A full audit backlog refuses decisions (503) instead of answering them
/// unrecorded; every decision answered is in the trail.
@Suite(.serialized) struct AuditBacklogTests {
    @Test func aFullBacklogRefusesDecisionsAndLosesNone() async throws {
        let pdp = try await PDPProcess.start(["--audit-max-backlog", "1"])
        let pep = try await pdp.token("pep")
        let body = pdp.directory.appendingPathComponent("body.json")
        try #"{"source": {"ip": "198.18.0.1"}, "host": "a.example.com"}"#.write(to: body, atomically: true, encoding: .utf8)
        let run = try await runCommand(
            "/usr/bin/h2load",
            ["-n", "3000", "-c", "2", "-m", "32", "-d", body.path, "-H", "authorization: Bearer \(pep)",
             "-H", "content-type: application/json", pdp.decisionURL + "/v1/decisions"])
        let line = try #require(run.out.split(separator: "\n").first { $0.contains("status codes:") })
        // "status codes: N 2xx, N 3xx, N 4xx, N 5xx"
        func count(_ kind: String) -> Int {
            let words = line.split(separator: " ").map { $0.trimmingCharacters(in: [","]) }
            return words.firstIndex(of: kind).flatMap { Int(words[$0 - 1]) } ?? -1
        }
        let (ok, unavailable) = (count("2xx"), count("5xx"))
        #expect(ok + unavailable == 3000, "\(line)")
        #expect(unavailable > 0, "with room for one record, a burst must be refused in part: \(line)")
        #expect(try await pdp.waitForAudit(records: ok) == ok)
        let result = try #require(try await pdp.admin("GET", "/v1/audit/verify").json)
        #expect(result["records"] as? Int == ok)
    }
}
