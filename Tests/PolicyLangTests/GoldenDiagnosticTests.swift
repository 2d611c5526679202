import Foundation
import Testing
import PolicyLang

/// `Golden/errors.egress` holds many mistakes; `Golden/errors.expected` what
/// `egressctl lint` reports for it: each diagnostic in the spec's form, and its help.
@Suite("Diagnostics: golden file")
struct GoldenDiagnosticTests {
    static func golden(_ name: String) throws -> String {
        let directory = try #require(Bundle.module.url(forResource: "Golden", withExtension: nil))
        return try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
    }

    @Test func everyMistakeIsReportedInOneRun() throws {
        let text = try Self.golden("errors.egress")
        let expected = try Self.golden("errors.expected")
        let set = PolicySet(files: [SourceFile(path: "errors.egress", text: text)])
        let diagnostics = Linter(publicSuffixes: .implicitOnly).lint(set)
        var rendered = ""
        for diagnostic in diagnostics {
            rendered += diagnostic.rendered + "\n"
            if let help = diagnostic.help { rendered += "    help: \(help)\n" }
        }
        #expect(rendered == expected)
        // The statements between the broken ones still parse.
        let names = set.rules.compactMap(\.rule.name)
        #expect(names == ["app-a", "dev/not-prod"])
        #expect(set.rules.contains { $0.rule.hosts.map(\.description) == ["fine.example", "also-fine.example:8080-8090"] })
    }
}
