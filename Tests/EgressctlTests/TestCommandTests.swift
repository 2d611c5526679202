import Foundation
import Testing

@Suite struct TestCommandTests {
    let policy = """
        allow app=A -> *.foo.com as app-a
        deny  ns:dev -> *.prod.foo.com
        """

    @Test func reportsFailuresWithLocationVerdictsAndRule() async throws {
        let dir = try PolicyDirectory([
            "p.egress": policy,
            "p_test.egress": """
                expect allow  app=A -> api.foo.com
                expect allow  ns:dev, app=A -> db.prod.foo.com
                expect allow  app=B -> api.foo.com
                """,
        ])
        let result = try await Egressctl.run(["test", dir.path])
        #expect(result.status == 1)
        let file = dir.path + "/p_test.egress"
        #expect(
            result.stdout.contains(
                "FAIL \(file):2: ns:dev, app=A -> db.prod.foo.com:443: expected allow, got deny, decided by \(dir.path)/p.egress:2"))
        #expect(
            result.stdout.contains(
                "FAIL \(file):3: app=B -> api.foo.com:443: expected allow, got deny, no rule matched (default deny)"))
        #expect(!result.stdout.contains("PASS"))
        #expect(result.stdout.hasSuffix("1 passed, 2 failed\n"))
    }

    @Test func verbosePrintsPassesAndExitsZeroWhenAllPass() async throws {
        let dir = try PolicyDirectory([
            "p.egress": policy, "p_test.egress": "expect allow  app=A -> api.foo.com\nexpect deny   * -> api.foo.com\n",
        ])
        let result = try await Egressctl.run(["test", "--verbose", dir.path])
        #expect(result.status == 0)
        #expect(result.stdout.contains("PASS \(dir.path)/p_test.egress:1: app=A -> api.foo.com:443: expected allow, got allow, decided by \(dir.path)/p.egress:1 (app-a)"))
        #expect(result.stdout.hasSuffix("2 passed, 0 failed\n"))
    }

    @Test func eachDirectoryUsesItsOwnPolicySet() async throws {
        let dir = try PolicyDirectory([
            "one/p.egress": "allow * -> a.com\n", "one/t_test.egress": "expect allow  * -> a.com\n",
            "two/p.egress": "allow * -> b.com\n", "two/t_test.egress": "expect deny   * -> a.com\n",
        ])
        let result = try await Egressctl.run(["test", dir.path])
        #expect(result.status == 0)
        #expect(result.stdout == "2 passed, 0 failed\n")
    }

    @Test func policyErrorsFailTheRun() async throws {
        let dir = try PolicyDirectory(["p.egress": "allow * -> a..com\n", "p_test.egress": "expect allow  * -> a.com\n"])
        let result = try await Egressctl.run(["test", dir.path])
        #expect(result.status == 1)
        #expect(result.stderr.contains("p.egress:1:12: error:"))
        #expect(result.stderr.contains("cannot run tests"))
    }

    @Test func exampleTestsPass() async throws {
        let result = try await Egressctl.run(["test", examplePolicies])
        #expect(result.status == 0)
        #expect(result.stdout.hasSuffix(" 0 failed\n"))
    }
}
