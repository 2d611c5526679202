import Foundation
import Testing
import TestSupport
import ServiceTestSupport

/// The decision API over real h2c, with the example policies and a workload
/// file: what it answers, to whom, and what it refuses.
@Suite(.serialized) struct DecisionAPITests {
    let pdp: PDPProcess
    let pep: String

    init() async throws {
        pdp = try await PDPProcess.withExamplePolicies(
            workloads: """
                - namespace: shop
                  pod: checkout-1
                  serviceAccount: checkout
                  labels: {app: checkout}
                  spiffe: spiffe://cluster.local/ns/shop/sa/checkout
                  ips: [198.18.1.2, "2001:db8::2"]
                """,
            ["--allow-ttl", "30", "--deny-ttl", "3"])
        pep = try await pdp.token("pep", name: "node-a")
    }

    @Test func anAddressIsResolvedThroughTheInventory() async throws {
        let answer = try await pdp.decide(#"{"source": {"ip": "198.18.1.2"}, "host": "API.Stripe.com.", "port": 443}"#, token: pep)
        #expect(answer.status == 200)
        let json = try #require(answer.json)
        #expect(json["verdict"] as? String == "allow")
        #expect(json["rule"] as? String == "10-apps.egress:11")
        #expect(json["name"] as? String == "checkout-stripe")
        #expect(json["dryRunVerdict"] as? String == "allow")
        #expect(json["revision"] as? Int == 1)
        #expect(json["ttl"] as? Int == 30)
        let source = try #require(json["source"] as? [String: Any])
        #expect(source["namespace"] as? String == "shop")
        #expect(source["pod"] as? String == "checkout-1")
        #expect(source["serviceAccount"] as? String == "checkout")
        #expect((source["labels"] as? [String: String]) == ["app": "checkout"])
    }

    @Test func anIPv4MappedOrIPv6AddressFindsTheSameWorkload() async throws {
        for ip in ["::ffff:198.18.1.2", "2001:DB8:0::2"] {
            let json = try #require(try await pdp.decide(#"{"source": {"ip": "\#(ip)"}, "host": "api.stripe.com"}"#, token: pep).json)
            #expect(json["verdict"] as? String == "allow", "\(ip)")
        }
    }

    @Test func anAddressNoWorkloadHoldsHasNoIdentity() async throws {
        let answer = try await pdp.decide(#"{"source": {"ip": "198.18.200.200"}, "host": "api.stripe.com", "port": 443}"#, token: pep)
        let json = try #require(answer.json)
        #expect(json["verdict"] as? String == "deny")
        #expect(json["source"] is NSNull)
        #expect(json["ttl"] as? Int == 3)
    }

    /// An identity is taken on trust only from an enforcer trusted with
    /// identities: a `pep-identity` token here. A `pep` token gets 403.
    @Test func aSpiffeIdOrAnAssertedIdentityIsAcceptedOnlyFromAnIdentityEnforcer() async throws {
        let identityPEP = try await pdp.token("pep-identity", name: "sidecar")
        let spiffe = #"{"source": {"spiffe": "spiffe://cluster.local/ns/shop/sa/checkout"}, "host": "api.stripe.com"}"#
        let identity = #"{"source": {"namespace": "shop", "serviceAccount": "checkout", "labels": {"app": "checkout"}}, "host": "api.stripe.com"}"#
        for body in [spiffe, identity] {
            let refused = try await pdp.decide(body, token: pep)
            #expect(refused.status == 403, "\(refused)")
            #expect((refused.json?["error"] as? String)?.contains("needs a token of role pep-identity") == true, "\(refused)")
        }
        let bySpiffe = try #require(try await pdp.decide(spiffe, token: identityPEP).json)
        #expect(bySpiffe["verdict"] as? String == "allow")
        #expect((bySpiffe["source"] as? [String: Any])?["pod"] as? String == "checkout-1")
        let asserted = try #require(try await pdp.decide(identity, token: identityPEP).json)
        #expect(asserted["verdict"] as? String == "allow")
        // Its decisions are audited under its own name; the refused ones not at all.
        // (The writer batches: wait for the two.)
        var decisions: [[String: Any]] = []
        for _ in 0..<100 {
            let audit = try await pdp.admin("GET", "/v1/audit?host=api.stripe.com&limit=100")
            decisions = (audit.json?["records"] as? [[String: Any]] ?? []).filter { $0["kind"] as? String == "decision" }
            if decisions.count >= 2 { break }
            await pause(0.05)
        }
        #expect(decisions.map { $0["enforcer"] as? String } == ["token:sidecar", "token:sidecar"], "\(decisions)")
        let empty = try #require(try await pdp.decide(#"{"source": {}, "host": "api.stripe.com"}"#, token: pep).json)
        #expect(empty["verdict"] as? String == "deny")
        #expect(empty["source"] is NSNull)
    }

    @Test(arguments: [
        (#"{"host": "#, 400, "not valid JSON"),
        (#"[1, 2]"#, 400, "must be a JSON object"),
        (#"{"port": 443}"#, 400, "missing field 'host'"),
        (#"{"host": "a.com", "port": 70000}"#, 400, "outside 1-65535"),
        (#"{"host": "a.com", "port": "443"}"#, 400, "'port' must be an integer"),
        (#"{"host": "a.com", "port": true}"#, 400, "'port' must be an integer"),
        (#"{"host": "a.com", "source": {"ip": "198.18.1"}}"#, 400, "not an IPv4 or IPv6 address"),
        (#"{"host": "a.com", "source": {"ip": "198.18.1.2", "namespace": "x"}}"#, 400, "stands alone"),
        (#"{"host": "a.com", "source": {"name": "x"}}"#, 400, "unknown field 'source.name'"),
        (#"{"host": "a.com", "extra": 1}"#, 400, "unknown field 'extra'"),
        (#"{"host": "a.com", "source": {"labels": {"app": 1}}}"#, 400, "'source.labels.app' must be a string"),
    ])
    func malformedRequestsGetAClearError(body: String, status: Int, message: String) async throws {
        let answer = try await pdp.decide(body, token: pep)
        #expect(answer.status == status, "\(answer)")
        #expect((answer.json?["error"] as? String)?.contains(message) == true, "\(answer)")
    }

    @Test func unauthenticatedCallersGet401AndNothingElse() async throws {
        let url = pdp.decisionURL + "/v1/decisions"
        let body = #"{"source": {"ip": "198.18.1.2"}, "host": "api.stripe.com"}"#
        for headers in [[String](), ["-H", "authorization: Bearer egr_wrong"], ["-H", "authorization: Bearer \(pdp.adminToken)"]] {
            let answer = try await Curl.run(
                ["--http2-prior-knowledge", "-X", "POST", url, "-H", "content-type: application/json", "-d", body] + headers)
            #expect(answer.status == 401, "\(headers): \(answer)")
            #expect(answer.json?["verdict"] == nil)
        }
        let viewer = try await pdp.token("viewer")
        let answer = try await pdp.decide(body, token: viewer)
        #expect(answer.status == 401)
    }

    @Test func aRevokedTokenStopsWorkingAtOnce() async throws {
        let token = try await pdp.token("pep", name: "soon-gone")
        #expect(try await pdp.decide(#"{"host": "a.com"}"#, token: token).status == 200)
        let list = try #require(try await pdp.admin("GET", "/v1/tokens").json?["tokens"] as? [[String: Any]])
        let id = try #require(list.first { $0["name"] as? String == "soon-gone" }?["id"] as? String)
        #expect(try await pdp.admin("DELETE", "/v1/tokens/\(id)").status == 204)
        #expect(try await pdp.decide(#"{"host": "a.com"}"#, token: token).status == 401)
    }

    @Test func otherPathsMethodsAndBodiesAreRefusedWithJSON() async throws {
        let auth = ["-H", "authorization: Bearer \(pep)"]
        let version = try await Curl.run(["--http2-prior-knowledge", "-X", "POST", pdp.decisionURL + "/v2/decisions"] + auth)
        #expect(version.status == 404)
        #expect((version.json?["error"] as? String)?.contains("unknown API version 'v2'") == true)
        let method = try await Curl.run(["--http2-prior-knowledge", pdp.decisionURL + "/v1/decisions"] + auth)
        #expect(method.status == 405)
        let form = try await Curl.run(["--http2-prior-knowledge", "-X", "POST", pdp.decisionURL + "/v1/decisions", "-d", "host=a"] + auth)
        #expect(form.status == 415)
        let big = String(repeating: " ", count: 70_000) + #"{"host": "a.com"}"#
        let large = try await pdp.decide(big, token: pep)
        #expect(large.status == 413)
        #expect((large.json?["error"] as? String)?.contains("larger than 65536 bytes") == true)
    }

    /// Good and bad requests multiplexed on one HTTP/2 connection: the bad
    /// streams get their 4xx and the good ones their decisions.
    @Test func oneBadStreamNeverHarmsTheOthersOnItsConnection() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("h2load-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let body = directory.appendingPathComponent("body.json")
        try #"{"source": {"ip": "198.18.1.2"}, "host": "api.stripe.com"}"#.write(to: body, atomically: true, encoding: .utf8)
        let uris = directory.appendingPathComponent("uris.txt")
        try (0..<50).map { $0 % 2 == 0 ? "\(pdp.decisionURL)/v1/decisions" : "\(pdp.decisionURL)/v9/nothing" }
            .joined(separator: "\n").write(to: uris, atomically: true, encoding: .utf8)
        let run = try await runCommand(
            "/usr/bin/h2load",
            ["-n", "200", "-c", "1", "-m", "20", "-d", body.path, "-H", "authorization: Bearer \(pep)",
             "-H", "content-type: application/json", "-i", uris.path])
        #expect(run.status == 0, "\(run.out)\(run.err)")
        #expect(run.out.contains("status codes: 100 2xx, 0 3xx, 100 4xx, 0 5xx"), "\(run.out)")
        #expect(run.out.contains("0 failed, 0 errored"), "\(run.out)")
    }

    @Test func everyDecisionIsAudited() async throws {
        let before = try await pdp.waitForAudit(records: 0)
        for host in ["audit-a.example", "audit-b.example"] {
            _ = try await pdp.decide(#"{"source": {"ip": "198.18.1.2"}, "host": "\#(host)", "port": 8443}"#, token: pep)
        }
        #expect(try await pdp.waitForAudit(records: before + 2) >= before + 2)
        let page = try #require(try await pdp.admin("GET", "/v1/audit?host=audit-b.example").json)
        let record = try #require((page["records"] as? [[String: Any]])?.first)
        #expect(record["kind"] as? String == "decision")
        #expect(record["enforcer"] as? String == "token:node-a")
        #expect(record["sourceIP"] as? String == "198.18.1.2")
        #expect(record["namespace"] as? String == "shop")
        #expect(record["pod"] as? String == "checkout-1")
        #expect(record["port"] as? Int == 8443)
        #expect(record["verdict"] as? String == "deny")
        #expect(record["revision"] as? Int == 1)
        #expect((record["hash"] as? String)?.count == 64)
    }

    /// `"port": "any"`: may the source reach the name on some port (what
    /// egress-dns asks). Audited with port 0.
    @Test func aNameCanBeDecidedOnAnyPort() async throws {
        let allowed = try #require(
            try await pdp.decide(#"{"source": {"ip": "198.18.1.2"}, "host": "any-port.stripe.com", "port": "any"}"#, token: pep).json)
        let refused = try #require(
            try await pdp.decide(#"{"source": {"ip": "198.18.200.1"}, "host": "api.stripe.com", "port": "any"}"#, token: pep).json)
        let plain = try #require(
            try await pdp.decide(#"{"source":{"ip":"198.18.1.2"},"host":"api.stripe.com","port":"any"}"#, token: pep).json)
        #expect(plain["verdict"] as? String == "allow")
        #expect(plain["rule"] as? String == "10-apps.egress:11")
        #expect(allowed["verdict"] as? String == "deny")
        #expect(refused["verdict"] as? String == "deny")
        let page = try #require(try await pdp.admin("GET", "/v1/audit?host=any-port.stripe.com").json?["records"] as? [[String: Any]])
        #expect(page.first?["port"] as? Int == 0)
        let bad = try await pdp.decide(#"{"host": "api.stripe.com", "port": "all"}"#, token: pep)
        #expect(bad.status == 400)
        #expect((bad.json?["error"] as? String)?.contains(#"must be an integer or "any""#) == true, "\(bad)")
    }

    /// egress-dns's records: refused queries one by one, allowed ones
    /// counted, each with its query type; stored, shown and hashed.
    @Test func dnsQueryRecordsKeepTheirTypeAndCount() async throws {
        let report = #"""
            {"connections": [
              {"sourceIP": "198.18.1.2", "host": "api.stripe.com", "port": 0, "verdict": "allow", "queryType": "AAAA",
               "count": 41, "time": 1795737200000, "durationMs": 59000},
              {"sourceIP": "198.18.1.2", "host": "x1.tunnel.example", "port": 0, "verdict": "deny", "queryType": "TXT", "reason": "policy"}
            ]}
            """#
        let answer = try await Curl.run([
            "--http2-prior-knowledge", "-X", "POST", pdp.decisionURL + "/v1/access", "-H", "authorization: Bearer \(pep)",
            "-H", "content-type: application/json", "-d", report,
        ])
        #expect(answer.status == 202, "\(answer)")
        let counted = try #require(
            (try await pdp.admin("GET", "/v1/audit?host=api.stripe.com").json?["records"] as? [[String: Any]])?
                .first { $0["queryType"] != nil })
        #expect(counted["queryType"] as? String == "AAAA")
        #expect(counted["count"] as? Int == 41)
        #expect(counted["port"] as? Int == 0)
        let refused = try #require(try await pdp.admin("GET", "/v1/audit?host=x1.tunnel.example").json?["records"] as? [[String: Any]])
        #expect(refused.first?["queryType"] as? String == "TXT")
        #expect(refused.first?["reason"] as? String == "policy")
        let verify = try #require(try await pdp.admin("GET", "/v1/audit/verify").json)
        #expect(verify["valid"] as? Bool == true, "\(verify)")
        for (field, problem) in [
            (#""count": 0"#, "count must be between 1"), (#""queryType": "ABCDEFGHIJKLMNOPQ""#, "longer than 16 bytes"),
            (#""queryType": "A\u0000""#, "control character"), (#""status": 99"#, "status is outside 100-599"),
            (#""status": 600"#, "status is outside 100-599"),
            (#""method": "\#(String(repeating: "G", count: 33))""#, "method or path is longer"),
            (#""path": "/\#(String(repeating: "p", count: 4096))""#, "method or path is longer"),
        ] {
            let bad = try await Curl.run([
                "--http2-prior-knowledge", "-X", "POST", pdp.decisionURL + "/v1/access", "-H", "authorization: Bearer \(pep)",
                "-H", "content-type: application/json", "-d",
                #"{"connections": [{"sourceIP": "198.18.1.2", "host": "a.example", "port": 0, "verdict": "allow", "# + field + "}]}",
            ])
            #expect(bad.status == 400)
            #expect((bad.json?["error"] as? String)?.contains(problem) == true, "\(bad)")
        }
    }

    @Test func accessReportsAreAcknowledgedOnceRecorded() async throws {
        let report = #"""
            {"connections": [
              {"sourceIP": "198.18.1.2", "host": "api.stripe.com", "port": 443, "verdict": "allow", "rule": "10-apps.egress:11",
               "originalDestination": "203.0.113.9:443", "upstream": "198.51.100.7:443", "bytesUp": 512, "bytesDown": 2048,
               "durationMs": 40, "cached": true},
              {"sourceIP": "198.18.9.9", "host": "", "port": 443, "verdict": "deny", "reason": "no-sni"}
            ]}
            """#
        let answer = try await Curl.run([
            "--http2-prior-knowledge", "-X", "POST", pdp.decisionURL + "/v1/access", "-H", "authorization: Bearer \(pep)",
            "-H", "content-type: application/json", "-d", report,
        ])
        #expect(answer.status == 202, "\(answer)")
        #expect(answer.json?["accepted"] as? Int == 2)
        // Acknowledged means written: the records are there without waiting.
        let page = try #require(try await pdp.admin("GET", "/v1/audit?sourceIP=198.18.9.9").json?["records"] as? [[String: Any]])
        #expect(page.first?["reason"] as? String == "no-sni")
        let hit = try #require(
            (try await pdp.admin("GET", "/v1/audit?host=api.stripe.com").json?["records"] as? [[String: Any]])?
                .first { $0["kind"] as? String == "access" })
        #expect(hit["cached"] as? Bool == true)
        #expect(hit["bytesDown"] as? Int == 2048)
        #expect(hit["originalDestination"] as? String == "203.0.113.9:443")
        #expect(hit["namespace"] as? String == "shop")
        let bad = try await Curl.run([
            "--http2-prior-knowledge", "-X", "POST", pdp.decisionURL + "/v1/access", "-H", "authorization: Bearer \(pep)",
            "-H", "content-type: application/json", "-d", #"{"connections": [{"sourceIP": "x", "host": "a", "port": 1, "verdict": "allow"}]}"#,
        ])
        #expect(bad.status == 400)
        #expect((bad.json?["error"] as? String)?.contains("connections[0].sourceIP") == true)
        for (dropped, problem) in [
            (#"{"allowed": 0, "refused": 0, "first": 1, "last": 2}"#, "dropped must count at least one record"),
            (#"{"allowed": -1, "refused": 3, "first": 1, "last": 2}"#, "must be between 0 and"),
            // Numbers whose sum or difference overflows are refused, not computed.
            (#"{"allowed": 9223372036854775807, "refused": 1, "first": 1, "last": 2}"#, "must be between 0 and"),
            (#"{"allowed": 1, "refused": 0, "first": -9000000000000000000, "last": 9000000000000000000}"#, "not negative"),
            (#"{"allowed": 1, "refused": 0, "first": 5, "last": 2}"#, "dropped.last is before dropped.first"),
        ] {
            let answer = try await Curl.run([
                "--http2-prior-knowledge", "-X", "POST", pdp.decisionURL + "/v1/access", "-H", "authorization: Bearer \(pep)",
                "-H", "content-type: application/json", "-d", #"{"connections": [], "dropped": "# + dropped + "}",
            ])
            #expect(answer.status == 400, "\(dropped): \(answer)")
            #expect((answer.json?["error"] as? String)?.contains(problem) == true, "\(answer)")
        }
    }

    /// The token is checked on the headers: a caller without one is answered
    /// at once and none of its body is kept.
    @Test func anUnauthenticatedBodyIsRefusedBeforeItIsRead() async throws {
        let file = pdp.directory.appendingPathComponent("big.json")
        try Data(repeating: UInt8(ascii: " "), count: 6 << 20).write(to: file)
        let started = Date()
        let answer = try await Curl.run([
            "--http2-prior-knowledge", "-X", "POST", pdp.decisionURL + "/v1/access", "-H", "content-type: application/json",
            "--data-binary", "@" + file.path,
        ])
        #expect(answer.status == 401, "\(answer)")
        #expect(Date().timeIntervalSince(started) < 5)
    }

    /// Far more than the connection's 1 MiB window over one connection: the
    /// handler gives credit back, so nothing stalls.
    @Test func manyRequestsOnOneConnectionNeverStall() async throws {
        let body = pdp.directory.appendingPathComponent("one.json")
        try #"{"source": {"ip": "198.18.1.2"}, "host": "api.stripe.com", "port": 443, "padding": null}"#
            .replacingOccurrences(of: #", "padding": null"#, with: "")
            .write(to: body, atomically: true, encoding: .utf8)
        let run = try await runCommand(
            "/usr/bin/h2load",
            ["-n", "30000", "-c", "1", "-m", "32", "-d", body.path, "-H", "authorization: Bearer \(pep)",
             "-H", "content-type: application/json", "-H", "x-filler: \(String(repeating: "f", count: 64))",
             pdp.decisionURL + "/v1/decisions"])
        #expect(run.out.contains("status codes: 30000 2xx"), "\(run.out)")
    }
}

/// A stream-level HTTP/2 protocol error and malformed header blocks, sent as
/// raw frames with the h2 package (curl and h2load cannot send a body that
/// contradicts its own content-length, or a request without :path): only
/// the bad streams fail; the good request on the connection is answered and
/// the connection stays open.
@Suite struct StreamErrorTests {
    @Test func aProtocolErrorOnOneStreamResetsOnlyThatStream() async throws {
        guard let python = PDPProcess.testPython() else { return }
        let pdp = try await PDPProcess.start()
        let pep = try await pdp.token("pep")
        let script = PDPProcess.repository.appendingPathComponent("Tests/Support/stream_error.py").path
        let run = try await runCommand(python.path, [script, String(pdp.decisionPort), pep])
        #expect(run.status == 0, "\(run.err)")
        let result = try #require(try JSONSerialization.jsonObject(with: Data(run.out.utf8)) as? [String: Any], "\(run.out)\(run.err)")
        #expect(result["1"] as? String == "reset", "\(result)")
        #expect(result["3"] as? String == "200", "\(result)")
        #expect((result["body3"] as? String)?.contains(#""verdict":"deny""#) == true, "\(result)")
        // Malformed header blocks get a 400 that says what was wrong.
        #expect(result["5"] as? String == "400", "\(result)")
        #expect((result["body5"] as? String)?.contains("a request needs :method and :path") == true, "\(result)")
        #expect(result["7"] as? String == "400", "\(result)")
        #expect((result["body7"] as? String)?.contains("two :method fields") == true, "\(result)")
        #expect(result["goaway"] as? Bool == false, "\(result)")
    }
}
