import Foundation
import Testing

@Suite struct LintCommandTests {
    let broken = """
        allow app=A -> foo*.com
        allow ns:Shop -> api.foo.com:70000
        allow * -> $missing
        """

    @Test func exampleSetIsCleanUnderStrict() async throws {
        let result = try await Egressctl.run(["lint", "--strict", examplePolicies])
        #expect(result.status == 0)
        #expect(result.stdout == "")
        #expect(result.stderr.contains("0 errors, 0 warnings"))
    }

    @Test func textReportsEveryErrorWithLocationAndHelp() async throws {
        let dir = try PolicyDirectory(["a.egress": broken])
        let result = try await Egressctl.run(["lint", dir.path])
        #expect(result.status == 1)
        let file = dir.path + "/a.egress"
        #expect(result.stdout.contains("\(file):1:16: error: '*' in 'foo*.com' is not allowed there [invalid-host]"))
        #expect(result.stdout.contains("help: a wildcard may only stand alone as the first label, as in *.foo.com"))
        #expect(result.stdout.contains("\(file):2:7: error: namespace 'Shop' must be lower-case"))
        #expect(result.stdout.contains("\(file):2:30: error: port 70000 is outside 1-65535 [invalid-port]"))
        #expect(result.stdout.contains("\(file):3:12: error: host list '$missing' is not defined [undefined-hosts]"))
        #expect(result.stderr.contains("4 errors, 0 warnings"))
    }

    @Test func jsonIsOneArrayWithTheRequiredFields() async throws {
        let dir = try PolicyDirectory(["a.egress": broken + "\nallow ns:a -> *.com\n"])
        let result = try await Egressctl.run(["lint", "--format", "json", dir.path])
        #expect(result.status == 1)
        let array = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]])
        #expect(array.count == 5)
        for object in array {
            for key in ["file", "line", "column", "severity", "id", "message"] {
                #expect(object[key] != nil, "missing \(key)")
            }
        }
        #expect(array.map { $0["id"] as? String } == ["invalid-host", "invalid-selector", "invalid-port", "undefined-hosts", "broad-host"])
        #expect(array.last?["severity"] as? String == "warning")
        #expect(array.first?["line"] as? Int == 1)
        #expect(array.first?["column"] as? Int == 16)
    }

    @Test func sarifIs210WithRuleIdsAndRegions() async throws {
        let dir = try PolicyDirectory(["a.egress": broken])
        let result = try await Egressctl.run(["lint", "--format", "sarif", dir.path])
        #expect(result.status == 1)
        let log = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(log["version"] as? String == "2.1.0")
        let run = try #require((log["runs"] as? [[String: Any]])?.first)
        let results = try #require(run["results"] as? [[String: Any]])
        #expect(results.count == 4)
        #expect(results.first?["ruleId"] as? String == "invalid-host")
        let location = try #require((results.first?["locations"] as? [[String: Any]])?.first)
        let physical = try #require(location["physicalLocation"] as? [String: Any])
        let region = try #require(physical["region"] as? [String: Any])
        #expect(region["startLine"] as? Int == 1)
        #expect(region["startColumn"] as? Int == 16)
    }

    @Test func githubAnnotations() async throws {
        let dir = try PolicyDirectory(["a.egress": "allow * -> *.com\n", "psl.dat": "// empty list\n"])
        let result = try await Egressctl.run(["lint", "--format", "github", "--public-suffix-list", dir.path + "/psl.dat", dir.path])
        #expect(result.status == 0)
        #expect(result.stdout.hasPrefix("::warning file=\(dir.path)/a.egress,line=1,col=12,"))
        #expect(result.stdout.contains("title=broad-host::"))
    }

    @Test func strictFailsOnWarnings() async throws {
        let dir = try PolicyDirectory(["a.egress": "allow * -> *\n"])
        let lenient = try await Egressctl.run(["lint", dir.path])
        #expect(lenient.status == 0)
        #expect(lenient.stdout.contains("[allow-all]"))
        let strict = try await Egressctl.run(["lint", "--strict", dir.path])
        #expect(strict.status == 1)
    }

    @Test func namedFileReportsOnlyItsOwnProblems() async throws {
        let dir = try PolicyDirectory([
            "a.egress": "hosts h = a.com\nallow * -> x.com\n",
            "b.egress": "allow * -> $h\nallow * -> bad..com\n",
        ])
        let result = try await Egressctl.run(["lint", dir.path + "/b.egress"])
        #expect(result.status == 1)
        #expect(result.stdout.contains("b.egress:2:12: error:"))
        #expect(!result.stdout.contains("a.egress"))
        #expect(!result.stdout.contains("undefined-hosts"))
    }

    @Test func missingPathExitsTwo() async throws {
        let result = try await Egressctl.run(["lint", "/nonexistent/policies"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("/nonexistent/policies: no such file or directory"))
    }

    /// `./b.egress`, `b.egress` and `dir/./b.egress` name one file; each
    /// spelling must report its problems, once.
    @Test func pathSpellingsOfOneFileReportTheSameProblemsOnce() async throws {
        let dir = try PolicyDirectory(["b.egress": "allow * -> bad..com\n"])
        for spelling in [["./b.egress"], ["b.egress"], [".//b.egress"]] {
            let result = try await Egressctl.run(["lint"] + spelling, in: dir.url)
            #expect(result.status == 1, "\(spelling)")
            #expect(result.stdout.components(separatedBy: "[invalid-host]").count == 2, "\(spelling): \(result.stdout)" as Comment)
            #expect(result.stdout.hasPrefix("b.egress:1:12: error:"), "\(spelling)")
        }
        let both = try await Egressctl.run(["lint", ".", "./b.egress"], in: dir.url)
        #expect(both.stdout.components(separatedBy: "[invalid-host]").count == 2, "\(both.stdout)")
    }

    @Test func aNamedFileThatIsNotAPolicyIsAnError() async throws {
        let dir = try PolicyDirectory(["a.txt": "allow * -> bad..com\n"])
        let result = try await Egressctl.run(["lint", dir.path + "/a.txt"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("a.txt: not a policy file (the name must end in .egress)"))
    }

    @Test func jsonGivesHelpAsNullWhenThereIsNone() async throws {
        let dir = try PolicyDirectory(["a.egress": "allow * -> a..com\n"])
        let result = try await Egressctl.run(["lint", "--format", "json", dir.path])
        #expect(result.stdout.contains("\"help\" : null"), "\(result.stdout)")
    }

    @Test func unreadablePublicSuffixListExitsTwo() async throws {
        let result = try await Egressctl.run(["lint", "--public-suffix-list", "/nonexistent/psl.dat", examplePolicies])
        #expect(result.status == 2)
        #expect(result.stderr.contains("/nonexistent/psl.dat: cannot read the Public Suffix List"))
    }
}
