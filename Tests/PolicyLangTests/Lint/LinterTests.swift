import Foundation
import Testing
@testable import PolicyLang

@Suite("Lint: linter")
struct LinterTests {
    @Test func findingsComeSortedByFileAndPosition() {
        let set = PolicySet(files: [
            SourceFile(path: "b.egress", text: "allow * -> *\n"),
            SourceFile(path: "a.egress", text: "allow * -> *.com\nallow ns:a -> q_r.com\n"),
        ])
        #expect(Linter(publicSuffixes: .implicitOnly).lint(set).map(\.rendered) == [
            "a.egress:1:12: warning: '*.com' allows every name under the public suffix 'com', whoever registered it [broad-host]",
            "a.egress:2:15: error: host name 'q_r.com' contains '_'; a label holds only letters, digits and '-' [invalid-host]",
            "b.egress:1:1: warning: 'allow * -> *' lets every workload reach every host [allow-all]",
        ])
    }

    @Test func everyRuleHasItsOwnId() {
        #expect(Linter.allRules.map(\.id) == [.shadowedRule, .duplicateRule, .broadHost, .allowAll, .unusedHosts])
    }

    @Test func theExamplePoliciesLintClean() throws {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("policies")
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".egress") }
        let files = try names.map {
            SourceFile(path: $0, bytes: Array(try Data(contentsOf: directory.appendingPathComponent($0))))
        }
        #expect(files.count >= 3)
        let list = FileManager.default.fileExists(atPath: PublicSuffixList.debianPath)
            ? PublicSuffixList(text: try String(contentsOfFile: PublicSuffixList.debianPath, encoding: .utf8)) : .implicitOnly
        #expect(Linter(publicSuffixes: list).lint(PolicySet(files: files)).map(\.rendered) == [])
    }
}
