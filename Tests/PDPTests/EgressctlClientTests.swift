import Foundation
import Testing
import TestSupport
import ServiceTestSupport

/// egressctl's client commands against a real service.
@Suite(.serialized) struct EgressctlClientTests {
    let pdp: PDPProcess
    let environment: [String: String]

    init() async throws {
        pdp = try await PDPProcess.start()
        var environment = ProcessInfo.processInfo.environment
        environment["EGRESSCTL_SERVER"] = pdp.adminURL
        environment["EGRESSCTL_TOKEN_FILE"] = pdp.directory.appendingPathComponent("data/admin.token").path
        self.environment = environment
    }

    func egressctl(_ arguments: [String]) async throws -> (status: Int32, out: String, err: String) {
        try await runCommand(PDPProcess.binaries.appendingPathComponent("egressctl").path, arguments, environment: environment)
    }

    @Test func applyLintsUploadsAndActivates() async throws {
        let policies = PDPProcess.repository.appendingPathComponent("policies").path
        let applied = try await egressctl(["apply", policies, "--reason", "from CI"])
        #expect(applied.status == 0, "\(applied.err)")
        #expect(applied.out == "revision 1 stored and active (27 tests passed)\n")
        let listed = try await egressctl(["revisions"])
        #expect(listed.out.hasPrefix("* 1\t"))
        #expect(listed.out.contains("bootstrap-admin\t3 files\tfrom CI"))
        let staged = try await egressctl(["apply", policies, "--no-activate"])
        #expect(staged.out == "revision 2 stored; activate it with: egressctl activate 2 (27 tests passed)\n")
        await #expect(try egressctl(["activate", "2"]).out == "revision 2 is active\n")
        let missing = try await egressctl(["activate", "5"])
        #expect(missing.status == 1)
        #expect(missing.err.contains("404: revision 5 does not exist"))
    }

    @Test func applyRefusesASetWithErrorsBeforeUploading() async throws {
        let directory = pdp.directory.appendingPathComponent("broken")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try "allow * -> foo*.com\n".write(to: directory.appendingPathComponent("a.egress"), atomically: true, encoding: .utf8)
        let refused = try await egressctl(["apply", directory.path])
        #expect(refused.status == 1)
        #expect(refused.err.contains("a.egress:1:12: error: '*' in 'foo*.com' is not allowed there [invalid-host]"))
        #expect(refused.err.contains("nothing was uploaded"))
        #expect((try await pdp.admin("GET", "/v1/revisions").json?["revisions"] as? [Any])?.isEmpty == true)
    }

    @Test func tokensWorkloadsAndAudit() async throws {
        let created = try await egressctl(["token", "create", "--name", "node-b", "--role", "pep"])
        #expect(created.status == 0)
        let secret = created.out.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(secret.hasPrefix("egr_"))
        #expect(created.err.contains("not shown again"))

        let file = pdp.directory.appendingPathComponent("workloads.yaml")
        try "workloads:\n  - {namespace: shop, pod: web-1, labels: {app: web}, ips: [198.18.9.1]}\n"
            .write(to: file, atomically: true, encoding: .utf8)
        await #expect(try egressctl(["workloads", "replace", file.path]).out == "inventory replaced: 1 workloads\n")
        await #expect(try egressctl(["workloads"]).out == "shop/web-1\tsa:-\tapp=web\t198.18.9.1\n")

        _ = try await pdp.decide(#"{"source": {"ip": "198.18.9.1"}, "host": "x.example.com"}"#, token: secret)
        _ = try await pdp.waitForAudit(records: 1)
        let audit = try await egressctl(["audit", "--host", "x.example.com"])
        #expect(audit.out.contains("decision\tdeny\tshop/web-1 (198.18.9.1) -> x.example.com:443\ttoken:node-b"), "\(audit.out)")
        let verify = try await egressctl(["audit", "verify"])
        #expect(verify.status == 0)
        #expect(verify.out.hasPrefix("audit chain intact: 1 records"))

        let list = try await egressctl(["token", "list"])
        let id = try #require(list.out.split(separator: "\n").first { $0.contains("node-b") }?.split(separator: "\t").first)
        await #expect(try egressctl(["token", "revoke", String(id)]).status == 0)
        #expect(try await pdp.decide(#"{"host": "a.com"}"#, token: secret).status == 401)
    }

    /// A token made to expire works until then, on both APIs, and is then
    /// refused and no longer listed.
    @Test func tokensMadeWithALifetimeStopWorking() async throws {
        let enforcer = try await egressctl(["token", "create", "--name", "short-pep", "--role", "pep", "--expires-in", "5s"])
        #expect(enforcer.status == 0, "\(enforcer.err)")
        #expect(enforcer.err.contains("created, works until 20"), "\(enforcer.err)")
        let pep = enforcer.out.trimmingCharacters(in: .whitespacesAndNewlines)
        let viewer = try await egressctl(["token", "create", "--name", "short-viewer", "--role", "viewer", "--expires-in", "5"])
        let viewerSecret = viewer.out.trimmingCharacters(in: .whitespacesAndNewlines)
        let started = Date()
        #expect(try await pdp.decide(#"{"host": "a.example.com"}"#, token: pep).status == 200)
        #expect(try await pdp.admin("GET", "/v1/revisions", token: viewerSecret).status == 200)
        let listed = try await egressctl(["token", "list"])
        #expect(listed.out.split(separator: "\n").contains { $0.contains("short-pep") && $0.contains("\texpires 20") }, "\(listed.out)")
        await pause(max(0, 5.3 - Date().timeIntervalSince(started)))
        #expect(try await pdp.decide(#"{"host": "a.example.com"}"#, token: pep).status == 401)
        #expect(try await pdp.admin("GET", "/v1/revisions", token: viewerSecret).status == 401)
        await #expect(!(try egressctl(["token", "list"]).out.contains("short-")))

        for bad in ["0", "5x", "-3", "4000d", "99999999999999999999"] {
            let refused = try await egressctl(["token", "create", "--name", "x", "--role", "pep", "--expires-in=\(bad)"])
            #expect(refused.status != 0 && refused.err.contains("--expires-in is a duration"), "\(bad): \(refused.err)")
        }
        #expect(try await pdp.admin("POST", "/v1/tokens", body: #"{"name": "x", "role": "pep", "expiresIn": 0}"#).status == 400)
        #expect(try await pdp.admin("POST", "/v1/tokens", body: #"{"name": "x", "role": "pep", "expiresIn": 315360001}"#).status == 400)
        // A misspelt field is refused, not ignored (it would make a token that never expires).
        let misspelt = try await pdp.admin("POST", "/v1/tokens", body: #"{"name": "x", "role": "pep", "expires_in": 60}"#)
        #expect(misspelt.status == 400 && (misspelt.json?["error"] as? String)?.contains("unknown field 'expires_in'") == true, "\(misspelt)")
    }

    @Test func withoutATokenItSaysHowToGiveOne() async throws {
        var environment = self.environment
        environment["EGRESSCTL_TOKEN_FILE"] = nil
        environment["EGRESSCTL_TOKEN"] = nil
        let run = try await runCommand(PDPProcess.binaries.appendingPathComponent("egressctl").path, ["revisions"], environment: environment)
        #expect(run.status == 1)
        #expect(run.err.contains("401: a bearer token is required (give a token with --token-file or EGRESSCTL_TOKEN)"))
    }

    @Test func auditFollowPrintsRecordsAsTheyAreWritten() async throws {
        let pep = try await pdp.token("pep", name: "follower")
        _ = try await pdp.decide(#"{"host": "first.example.com"}"#, token: pep)
        let output = pdp.directory.appendingPathComponent("follow.txt")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        let follow = Process()
        follow.executableURL = PDPProcess.binaries.appendingPathComponent("egressctl")
        follow.arguments = ["audit", "--follow"]
        follow.environment = environment
        follow.standardOutput = try FileHandle(forWritingTo: output)
        try follow.run()
        defer { follow.terminate() }
        await pause(1.5)
        _ = try await pdp.decide(#"{"host": "later.example.com"}"#, token: pep)
        var text = ""
        for _ in 0..<50 {
            text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
            if text.contains("later.example.com") { break }
            await pause(0.1)
        }
        #expect(text.contains("first.example.com"))
        #expect(text.contains("later.example.com"))
        #expect(follow.isRunning)
    }
}
