import Foundation
import Testing
import TestSupport
import ServiceTestSupport

/// Revisions, workloads, watch events, roles, health and metrics, through the
/// admin API of a real service.
@Suite(.serialized) struct AdminAPITests {
    static let allowA = #"{"files": [{"path": "a.egress", "content": "allow ns:shop -> a.example.com as a\n"}], "reason": "first"}"#
    static let allowB = #"{"files": [{"path": "a.egress", "content": "allow ns:shop -> b.example.com as b\n"}], "reason": "second"}"#

    /// Asks with an asserted identity: `pep` must be a `pep-identity` token.
    func decision(_ pdp: PDPProcess, _ pep: String, host: String) async throws -> String? {
        try await pdp.decide(#"{"source": {"namespace": "shop"}, "host": "\#(host)"}"#, token: pep).json?["verdict"] as? String
    }

    @Test func firstStartDeniesEverythingAndWritesAPrivateAdminToken() async throws {
        let pdp = try await PDPProcess.start()
        let attributes = try FileManager.default.attributesOfItem(atPath: pdp.directory.appendingPathComponent("data/admin.token").path)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        let database = try FileManager.default.attributesOfItem(atPath: pdp.databasePath)
        #expect((database[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        #expect(pdp.log.contains("first start: wrote an admin token"))
        let revisions = try #require(try await pdp.admin("GET", "/v1/revisions").json)
        #expect((revisions["revisions"] as? [Any])?.isEmpty == true)
        let pep = try await pdp.token("pep-identity")
        await #expect(try decision(pdp, pep, host: "a.example.com") == "deny")
        #expect(try await Curl.run([pdp.adminURL + "/healthz"]).status == 200)
        #expect(try await Curl.run([pdp.adminURL + "/readyz"]).status == 200)
    }

    @Test func revisionsActivateRollBackAndSurviveARestart() async throws {
        let pdp = try await PDPProcess.start()
        let pep = try await pdp.token("pep-identity")
        let first = try await pdp.admin("POST", "/v1/revisions", body: Self.allowA)
        #expect(first.status == 201, "\(first)")
        #expect(first.json?["revision"] as? Int == 1)
        await #expect(try decision(pdp, pep, host: "a.example.com") == "allow")
        #expect(try await pdp.admin("POST", "/v1/revisions", body: Self.allowB).json?["revision"] as? Int == 2)
        // The next decision uses the new revision.
        await #expect(try decision(pdp, pep, host: "a.example.com") == "deny")
        await #expect(try decision(pdp, pep, host: "b.example.com") == "allow")

        let shown = try #require(try await pdp.admin("GET", "/v1/revisions/2").json)
        #expect(shown["reason"] as? String == "second")
        #expect(shown["author"] as? String == "bootstrap-admin")
        #expect(((shown["files"] as? [[String: Any]])?.first?["content"] as? String)?.contains("b.example.com") == true)

        #expect(try await pdp.admin("POST", "/v1/revisions/1/activate").status == 200)
        await #expect(try decision(pdp, pep, host: "a.example.com") == "allow")
        #expect(try await pdp.admin("POST", "/v1/revisions/9/activate").status == 404)

        await pdp.stop()
        let again = try await PDPProcess.start(directory: pdp.directory)
        #expect(try await again.admin("GET", "/v1/revisions").json?["active"] as? Int == 1)
        await #expect(try decision(again, pep, host: "a.example.com") == "allow")
    }

    @Test func aSetWithErrorsOrFailingTestsIsRefusedAndTheActiveOneStays() async throws {
        let pdp = try await PDPProcess.start()
        let pep = try await pdp.token("pep-identity")
        _ = try await pdp.admin("POST", "/v1/revisions", body: Self.allowA)
        let broken = #"{"files": [{"path": "a.egress", "content": "allow ns:shop -> foo*.com\n"}]}"#
        let refused = try await pdp.admin("POST", "/v1/revisions", body: broken)
        #expect(refused.status == 422, "\(refused)")
        let diagnostic = try #require((refused.json?["diagnostics"] as? [[String: Any]])?.first)
        #expect(diagnostic["id"] as? String == "invalid-host")
        #expect(diagnostic["line"] as? Int == 1)
        #expect(diagnostic["column"] as? Int == 18)
        #expect((diagnostic["help"] as? String)?.contains("*.foo.com") == true)

        let failing = #"""
            {"files": [{"path": "a.egress", "content": "allow ns:shop -> c.example.com\n"},
                       {"path": "a_test.egress", "content": "expect allow ns:shop -> d.example.com\n"}]}
            """#
        let refusedTests = try await pdp.admin("POST", "/v1/revisions", body: failing)
        #expect(refusedTests.status == 422)
        #expect((refusedTests.json?["error"] as? String)?.contains("a_test.egress:1: expected allow, got deny") == true)

        #expect(try await pdp.admin("GET", "/v1/revisions").json?["active"] as? Int == 1)
        #expect((try await pdp.admin("GET", "/v1/revisions").json?["revisions"] as? [Any])?.count == 1)
        await #expect(try decision(pdp, pep, host: "a.example.com") == "allow")

        let validation = try #require(try await pdp.admin("POST", "/v1/revisions/validate", body: broken).json)
        #expect(validation["valid"] as? Bool == false)
        #expect((try await pdp.admin("GET", "/v1/revisions").json?["revisions"] as? [Any])?.count == 1)
    }

    @Test func aWorkloadChangeAppliesToTheNextDecision() async throws {
        let pdp = try await PDPProcess.start()
        let pep = try await pdp.token("pep")
        _ = try await pdp.admin("POST", "/v1/revisions", body: Self.allowA)
        let byIP = #"{"source": {"ip": "198.18.3.4"}, "host": "a.example.com"}"#
        #expect(try await pdp.decide(byIP, token: pep).json?["verdict"] as? String == "deny")
        let put = try await pdp.admin("PUT", "/v1/workloads/shop/web-1", body: #"{"serviceAccount": "web", "labels": {"app": "web"}, "ips": ["198.18.3.4"]}"#)
        #expect(put.status == 200, "\(put)")
        #expect(try await pdp.decide(byIP, token: pep).json?["verdict"] as? String == "allow")
        #expect(try await pdp.admin("DELETE", "/v1/workloads/shop/web-1").status == 200)
        #expect(try await pdp.decide(byIP, token: pep).json?["verdict"] as? String == "deny")
        #expect(try await pdp.admin("DELETE", "/v1/workloads/shop/web-1").status == 404)

        let clash = #"{"workloads": [{"namespace": "a", "pod": "p", "ips": ["198.18.0.1"]}, {"namespace": "b", "pod": "q", "ips": ["198.18.0.1"]}]}"#
        let refused = try await pdp.admin("PUT", "/v1/workloads", body: clash)
        #expect(refused.status == 400)
        #expect((refused.json?["error"] as? String)?.contains("address 198.18.0.1 is held by both a/p and b/q") == true)
        let badIP = try await pdp.admin("PUT", "/v1/workloads/shop/x", body: #"{"ips": ["999.1.1.1"]}"#)
        #expect(badIP.status == 400)
    }

    @Test func theWorkloadsFileIsReloadedWhenItChanges() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pdp-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let file = directory.appendingPathComponent("workloads.json")
        try #"[{"namespace": "shop", "pod": "a", "ips": ["198.18.5.1"]}]"#.write(to: file, atomically: true, encoding: .utf8)
        let pdp = try await PDPProcess.start(["--workloads", file.path], directory: directory, removesDirectory: true)
        let pep = try await pdp.token("pep")
        _ = try await pdp.admin("POST", "/v1/revisions", body: Self.allowA)
        let request = #"{"source": {"ip": "198.18.5.2"}, "host": "a.example.com"}"#
        #expect(try await pdp.decide(request, token: pep).json?["verdict"] as? String == "deny")
        try #"{"workloads": [{"namespace": "shop", "pod": "b", "ips": ["198.18.5.2"]}]}"#.write(to: file, atomically: true, encoding: .utf8)
        var verdict: String?
        for _ in 0..<50 {
            verdict = try await pdp.decide(request, token: pep).json?["verdict"] as? String
            if verdict == "allow" { break }
            await pause(0.1)
        }
        #expect(verdict == "allow")
        // A broken file is reported and changes nothing.
        try "- {namespace: shop".write(to: file, atomically: true, encoding: .utf8)
        await pause(1.5)
        #expect(try await pdp.decide(request, token: pep).json?["verdict"] as? String == "allow")
        #expect(pdp.log.contains("workloads file not loaded; the inventory is unchanged"))
    }

    /// `curl -N` following GET /v1/watch with `token`, writing to a file of its own.
    func startWatching(_ pdp: PDPProcess, token: String, name: String) throws -> (curl: Process, output: URL) {
        let output = pdp.directory.appendingPathComponent("watch-\(name).txt")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        let curl = Process()
        curl.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        curl.arguments = ["-sN", "--http2-prior-knowledge", pdp.decisionURL + "/v1/watch", "-H", "authorization: Bearer \(token)"]
        curl.standardOutput = try FileHandle(forWritingTo: output)
        try curl.run()
        return (curl, output)
    }

    /// The lines a watch has written so far.
    func watchLines(_ output: URL) -> [String] {
        ((try? String(contentsOf: output, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    /// GET /v1/watch pushes an event for each new revision and inventory change.
    @Test func watchersHearOfEveryChange() async throws {
        let pdp = try await PDPProcess.start()
        let pep = try await pdp.token("pep")
        let (watch, output) = try startWatching(pdp, token: pep, name: "all")
        defer { watch.terminate() }
        func lines() -> [String] { watchLines(output) }
        func wait(for count: Int) async {
            for _ in 0..<100 where lines().count < count { await pause(0.05) }
        }
        await wait(for: 1)
        #expect(lines().first == #"{"event":"hello","revision":null,"inventoryGeneration":0}"#)
        _ = try await pdp.admin("POST", "/v1/revisions", body: Self.allowA)
        await wait(for: 2)
        #expect(lines().dropFirst().first == #"{"event":"revision","revision":1,"inventoryGeneration":0}"#)
        _ = try await pdp.admin("PUT", "/v1/workloads/shop/w", body: #"{"ips": ["198.18.7.7"]}"#)
        await wait(for: 3)
        #expect(lines().dropFirst(2).first == #"{"event":"inventory","revision":1,"inventoryGeneration":1}"#)
        let metrics = try await Curl.run([pdp.adminURL + "/metrics"]).body
        #expect(metrics.contains("egress_pdp_watch_subscribers 1"))
    }

    /// A watch stream is one request that lasts: it ends when the token it
    /// was opened with is revoked or expires, and only those streams end.
    @Test func watchStreamsEndWithTheirToken() async throws {
        let pdp = try await PDPProcess.start()
        func create(_ body: String) async throws -> (id: String, secret: String) {
            let json = try #require(try await pdp.admin("POST", "/v1/tokens", body: body).json)
            return (try #require(json["id"] as? String), try #require(json["token"] as? String))
        }
        let revoked = try await create(#"{"name": "revoked", "role": "pep"}"#)
        // 8 s from here: beside the rest of the suite, a first request was
        // seen taking more than 5 s to be answered.
        let expiringCreated = Date()
        let expiring = try await create(#"{"name": "expiring", "role": "pep", "expiresIn": 8}"#)
        let kept = try await create(#"{"name": "kept", "role": "pep"}"#)
        func watch(_ token: String, _ name: String) throws -> (Process, URL) { try startWatching(pdp, token: token, name: name) }
        func lines(_ output: URL) -> [String] { watchLines(output) }
        /// Waits up to `seconds` for `condition`.
        func within(_ seconds: Double, _ condition: () -> Bool) async -> Bool {
            let deadline = Date().addingTimeInterval(seconds)
            while !condition() && Date() < deadline { await pause(0.05) }
            return condition()
        }
        let (revokedCurl, revokedOut) = try watch(revoked.secret, "revoked")
        let (expiringCurl, expiringOut) = try watch(expiring.secret, "expiring")
        let (keptCurl, keptOut) = try watch(kept.secret, "kept")
        defer { for curl in [revokedCurl, expiringCurl, keptCurl] where curl.isRunning { curl.terminate() } }
        #expect(await within(5) { [revokedOut, expiringOut, keptOut].allSatisfy { lines($0).count == 1 } })

        #expect(try await pdp.admin("DELETE", "/v1/tokens/\(revoked.id)").status == 204)
        let ended = await within(2) { !revokedCurl.isRunning }
        #expect(ended, "the stream of a revoked token is still open")
        // curl exits 0: the server ended the stream (not a reset).
        if ended { #expect(revokedCurl.terminationStatus == 0) }
        #expect(keptCurl.isRunning)
        if Date() < expiringCreated.addingTimeInterval(7) { #expect(expiringCurl.isRunning) }
        // Watching again with it is refused.
        let again = try await Curl.run(["--http2-prior-knowledge", "-H", "authorization: Bearer \(revoked.secret)", pdp.decisionURL + "/v1/watch"])
        #expect(again.status == 401)

        // The expiring token's stream ends at its expiry, 8 s after it was
        // made, with no change to carry.
        let expired = await within(expiringCreated.addingTimeInterval(14).timeIntervalSinceNow) { !expiringCurl.isRunning }
        #expect(expired, "the stream of an expired token is still open")
        #expect(Date() > expiringCreated.addingTimeInterval(7.9), "it ended before its token expired")
        #expect(keptCurl.isRunning)
        _ = try await pdp.admin("POST", "/v1/revisions", body: Self.allowA)
        #expect(await within(5) { lines(keptOut).count == 2 })
        #expect(lines(revokedOut).count == 1 && lines(expiringOut).count == 1)
    }

    @Test func rolesLimitWhatATokenMayDo() async throws {
        let pdp = try await PDPProcess.start()
        let viewer = try await pdp.token("viewer")
        let pep = try await pdp.token("pep")
        #expect(try await pdp.admin("GET", "/v1/revisions", token: viewer).status == 200)
        #expect(try await pdp.admin("GET", "/v1/audit/verify", token: viewer).status == 200)
        let forbidden = try await pdp.admin("POST", "/v1/revisions", body: Self.allowA, token: viewer)
        #expect(forbidden.status == 403)
        #expect((forbidden.json?["error"] as? String)?.contains("role 'admin'") == true)
        #expect(try await pdp.admin("POST", "/v1/tokens", body: #"{"name": "x", "role": "admin"}"#, token: viewer).status == 403)
        #expect(try await pdp.admin("GET", "/v1/revisions", token: pep).status == 403)
        // An enforcer trusted with identities is still only an enforcer.
        let identityPEP = try await pdp.token("pep-identity")
        #expect(try await pdp.admin("GET", "/v1/revisions", token: identityPEP).status == 403)
        #expect(try await pdp.admin("GET", "/v1/audit", token: identityPEP).status == 403)
        #expect(try await pdp.admin("GET", "/v1/revisions", token: "egr_nope").status == 401)
        #expect(try await Curl.run([pdp.adminURL + "/v1/revisions"]).status == 401)
        #expect(try await pdp.admin("POST", "/v1/tokens", body: #"{"name": "x", "role": "root"}"#).status == 400)
        // Names are limited to 100 code points, as the OpenAPI document says:
        // 100 "e" with a combining accent are 100 characters but 200 code points.
        let accented = String(repeating: "e\u{301}", count: 100)
        #expect(try await pdp.admin("POST", "/v1/tokens", body: #"{"name": "\#(accented)", "role": "viewer"}"#).status == 400)
        #expect(try await pdp.admin("POST", "/v1/tokens", body: #"{"name": "\#(String(repeating: "n", count: 100))", "role": "viewer"}"#).status == 201)
    }

    @Test func metricsAndTheOpenAPIDocumentAreServed() async throws {
        let pdp = try await PDPProcess.start()
        let pep = try await pdp.token("pep")
        _ = try await pdp.decide(#"{"host": "a.com"}"#, token: pep)
        _ = try await pdp.waitForAudit(records: 1)
        let metrics = try await Curl.run([pdp.adminURL + "/metrics"]).body
        for name in [
            #"egress_pdp_decisions_total{verdict="deny"} 1"#, "egress_pdp_decision_duration_seconds_bucket",
            "egress_pdp_active_revision 0", "egress_pdp_audit_backlog 0", "egress_pdp_audit_head_seq 1",
            #"egress_pdp_audit_head_info{seq="1",hash=""#,
        ] {
            #expect(metrics.contains(name), "missing \(name)")
        }
        let document = try await Curl.run([pdp.adminURL + "/openapi.yaml"])
        #expect(document.status == 200)
        #expect(document.body.hasPrefix("openapi: 3.1"))
        #expect(document.body.contains("/v1/revisions"))
    }
}
