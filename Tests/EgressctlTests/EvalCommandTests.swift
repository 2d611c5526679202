import Foundation
import Testing

@Suite struct EvalCommandTests {
    let policy = """
        allow app=A -> *.foo.com as app-a
        allow * -> service1.bar.com
        deny  ns:shop, tier in (batch) -> *.foo.com dry-run as batch
        """

    @Test func singleRequestText() async throws {
        let dir = try PolicyDirectory(["p.egress": policy])
        let allow = try await Egressctl.run(["eval", "--policies", dir.path, "--from", "ns:shop, tier=batch, app=A", "--to", "x.foo.com"])
        #expect(allow.status == 0)
        #expect(allow.stdout == "allow by \(dir.path)/p.egress:1 (app-a)\ndry-run: would deny by \(dir.path)/p.egress:3 (batch)\n")
        let deny = try await Egressctl.run(["eval", "--policies", dir.path, "--from", "*", "--to", "x.foo.com:8443"])
        #expect(deny.stdout == "deny (no rule matched: default deny)\n")
    }

    @Test func singleRequestJSON() async throws {
        let dir = try PolicyDirectory(["p.egress": policy])
        let result = try await Egressctl.run([
            "eval", "--policies", dir.path, "--from", "app=B", "--to", "service1.bar.com:443", "--format", "json",
        ])
        #expect(result.stdout == "{\"verdict\":\"allow\",\"rule\":\"\(dir.path)/p.egress:2\",\"name\":null,\"dryRunVerdict\":\"allow\",\"dryRunRule\":\"\(dir.path)/p.egress:2\"}\n")
    }

    @Test func namespaceLabelsComeFromFromAndFromBatch() async throws {
        let dir = try PolicyDirectory(["p.egress": "allow nslabel:team=payments -> api.stripe.com as payments\n"])
        let single = try await Egressctl.run([
            "eval", "--policies", dir.path, "--from", "ns:shop, nslabel:team=payments", "--to", "api.stripe.com",
        ])
        #expect(single.stdout == "allow by \(dir.path)/p.egress:1 (payments)\n")
        let input = """
            {"source": {"namespace": "shop", "namespaceLabels": {"team": "payments"}}, "host": "api.stripe.com"}
            {"source": {"namespace": "shop", "labels": {"team": "payments"}}, "host": "api.stripe.com"}
            {"source": {"namespaceLabels": {"team": 1}}, "host": "api.stripe.com"}
            """
        let batch = try await Egressctl.run(["eval", "--policies", dir.path, "--batch", "-"], stdin: input)
        let lines = batch.stdout.split(separator: "\n")
        #expect(lines.count == 3)
        #expect(lines.first?.contains(#""verdict":"allow""#) == true)
        #expect(lines.dropFirst().first?.contains(#""verdict":"deny""#) == true, "a pod label is not the namespace's")
        #expect(lines.last?.contains("'source.namespaceLabels.team' must be a string") == true, "\(batch.stdout)")
    }

    /// `HOST:any` and `"port": "any"`: the question egress-dns asks.
    @Test func aNameOnAnyPort() async throws {
        let dir = try PolicyDirectory(["p.egress": "allow app=A -> api.foo.com:8443 as a-api\n"])
        let any = try await Egressctl.run(["eval", "--policies", dir.path, "--from", "app=A", "--to", "api.foo.com:any"])
        #expect(any.stdout == "allow by \(dir.path)/p.egress:1 (a-api)\n")
        let onDefaultPort = try await Egressctl.run(["eval", "--policies", dir.path, "--from", "app=A", "--to", "api.foo.com"])
        #expect(onDefaultPort.stdout == "deny (no rule matched: default deny)\n")
        let batch = try await Egressctl.run(
            ["eval", "--policies", dir.path, "--batch", "-"],
            stdin: #"{"source": {"labels": {"app": "A"}}, "host": "api.foo.com", "port": "any"}"# + "\n" + #"{"host": "api.foo.com", "port": "all"}"#)
        let lines = batch.stdout.split(separator: "\n")
        #expect(lines.first?.contains(#""verdict":"allow""#) == true, "\(batch.stdout)")
        #expect(lines.last?.contains(#"'port' must be an integer or \"any\""#) == true, "\(batch.stdout)")
    }

    @Test func badWorkloadIsAUsageError() async throws {
        let dir = try PolicyDirectory(["p.egress": policy])
        let result = try await Egressctl.run(["eval", "--policies", dir.path, "--from", "tier in (a)", "--to", "x.foo.com"])
        #expect(result.status == 64)
        #expect(result.stderr.contains("one concrete workload"))
    }

    @Test func batchStreamsInOrderAndReportsMalformedLines() async throws {
        let dir = try PolicyDirectory(["p.egress": policy])
        let input = """
            {"source": {"namespace": "shop", "labels": {"app": "A", "tier": "batch"}}, "host": "x.foo.com", "port": 443}
            {"source": {}, "host": "service1.bar.com"}
            not json
            {"host": "x.foo.com"}
            {"source": {"labels": {"app": "A"}}}
            {"source": {"labels": {"app": "A"}}, "host": "x.foo.com", "port": 70000}

            {"source": {"pod": "p"}, "host": "x.foo.com", "port": 443}
            """
        let result = try await Egressctl.run(["eval", "--policies", dir.path, "--batch", "-"], stdin: input)
        #expect(result.status == 1)
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 7)
        let p = dir.path + "/p.egress"
        #expect(lines[0] == "{\"verdict\":\"allow\",\"rule\":\"\(p):1\",\"name\":\"app-a\",\"dryRunVerdict\":\"deny\",\"dryRunRule\":\"\(p):3\"}")
        #expect(lines[1] == "{\"verdict\":\"allow\",\"rule\":\"\(p):2\",\"name\":null,\"dryRunVerdict\":\"allow\",\"dryRunRule\":\"\(p):2\"}")
        #expect(lines[2].hasPrefix("{\"line\":3,\"error\":"))
        #expect(lines[3] == "{\"verdict\":\"deny\",\"rule\":null,\"name\":null,\"dryRunVerdict\":\"deny\",\"dryRunRule\":null}")
        #expect(lines[4] == "{\"line\":5,\"error\":\"missing field 'host'\"}")
        #expect(lines[5] == "{\"line\":6,\"error\":\"port 70000 is outside 1-65535\"}")
        #expect(lines[6].hasPrefix("{\"verdict\":\"deny\",\"rule\":null"))
    }

    @Test func batchFromFileHandlesLongInputWithoutALastNewline() async throws {
        let dir = try PolicyDirectory(["p.egress": policy])
        let line = "{\"source\": {\"labels\": {\"app\": \"A\"}}, \"host\": \"h.foo.com\"}"
        let count = 50_000
        try dir.write("batch.jsonl", Array(repeating: line, count: count).joined(separator: "\n"))
        let result = try await Egressctl.run(["eval", "--policies", dir.path, "--batch", dir.path + "/batch.jsonl"])
        #expect(result.status == 0)
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.count == count)
        #expect(lines.allSatisfy { $0.hasPrefix("{\"verdict\":\"allow\"") })
    }

    @Test func policyErrorsAreReported() async throws {
        let dir = try PolicyDirectory(["p.egress": "allow * -> a..com\n"])
        let result = try await Egressctl.run(["eval", "--policies", dir.path, "--from", "*", "--to", "a.com"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("p.egress:1:12: error:"))
    }

    @Test func aDirectoryWithoutPoliciesIsAnErrorNotADenial() async throws {
        let empty = try PolicyDirectory(["only_test.egress": "expect deny * -> a.com\n"])
        let result = try await Egressctl.run(["eval", "--policies", empty.path, "--from", "*", "--to", "a.com"])
        #expect(result.status == 2)
        #expect(result.stdout == "")
        #expect(result.stderr.contains("no policy files"))
        let missing = try await Egressctl.run(["eval", "--policies", "/nonexistent/dir", "--from", "*", "--to", "a.com"])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("/nonexistent/dir: no such directory"))
    }

    @Test func aPortBeyondSixtyFourBitsIsOutOfRangeNotNegative() async throws {
        let dir = try PolicyDirectory(["p.egress": policy])
        let input = """
            {"host": "x.foo.com", "port": 18446744073709551615}
            {"host": "x.foo.com", "port": 65536}
            """
        let result = try await Egressctl.run(["eval", "--policies", dir.path, "--batch", "-"], stdin: input)
        #expect(result.status == 1)
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 2)
        #expect(lines.first?.contains("port 18446744073709551615 is outside 1-65535") == true, "\(lines)")
        #expect(lines.last?.contains("port 65536 is outside 1-65535") == true, "\(lines)")
    }

    @Test func usageErrorsShowThisCommandsUsage() async throws {
        let dir = try PolicyDirectory(["p.egress": policy])
        let result = try await Egressctl.run(["eval", "--policies", dir.path, "--from", "*", "--to", "a.com:0"])
        #expect(result.status == 64)
        #expect(result.stderr.contains("--to: expected HOST[:PORT]"))
        #expect(result.stderr.contains("egressctl eval"))
    }
}
