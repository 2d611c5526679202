import Foundation
import Testing

@Suite struct FormatCommandTests {
    let messy = "allow   ns:shop,sa:checkout->API.Stripe.com.:443   as pay # trailing\ndeny ns:dev -> *.prod.foo.com\n"
    let tidy = "allow ns:shop, sa:checkout -> api.stripe.com:443 as pay  # trailing\ndeny  ns:dev -> *.prod.foo.com\n"

    @Test func printsCanonicalLayout() async throws {
        let dir = try PolicyDirectory(["a.egress": messy])
        let result = try await Egressctl.run(["fmt", dir.path + "/a.egress"])
        #expect(result.status == 0)
        #expect(result.stdout == tidy)
        #expect(try dir.read("a.egress") == messy, "printing must not touch the file")
    }

    @Test func checkListsUnformattedFilesAndWriteFixesThem() async throws {
        let dir = try PolicyDirectory(["a.egress": messy, "b.egress": tidy])
        let check = try await Egressctl.run(["fmt", "--check", dir.path])
        #expect(check.status == 1)
        #expect(check.stdout == "\(dir.path)/a.egress: not formatted (run egressctl fmt --write)\n")

        let write = try await Egressctl.run(["fmt", "--write", dir.path])
        #expect(write.status == 0)
        #expect(try dir.read("a.egress") == tidy)
        #expect(try dir.read("b.egress") == tidy)

        let recheck = try await Egressctl.run(["fmt", "--check", dir.path])
        #expect(recheck.status == 0)
    }

    @Test func refusesFilesWithErrorsAndLeavesThemAlone() async throws {
        let broken = "allow * -> foo*.com\n"
        let dir = try PolicyDirectory(["a.egress": broken])
        let result = try await Egressctl.run(["fmt", "--write", dir.path])
        #expect(result.status == 1)
        #expect(result.stderr.contains("a.egress:1:12: error:"))
        #expect(try dir.read("a.egress") == broken)
    }

    @Test func writeAndCheckTogetherIsAUsageError() async throws {
        let result = try await Egressctl.run(["fmt", "--write", "--check", examplePolicies])
        #expect(result.status == 64)
        #expect(result.stderr.contains("--write and --check cannot be used together"))
    }

    @Test func examplePoliciesAreFormatted() async throws {
        #expect(try await Egressctl.run(["fmt", "--check", examplePolicies]).status == 0)
    }
}
