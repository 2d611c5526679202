import Testing
@testable import PolicyLang

/// Inline markers for expected lint findings.
///
/// A policy line that ends in `# expect: rule-id` must be reported by that rule
/// on that line (name the id twice for two findings on one line); a line that
/// ends in `# allowed: rule-id` may be reported or not. Any other finding of
/// the rule under test fails the test.
struct LintMarkers {
    let files: [(path: String, text: String)]

    init(_ text: String, path: String = "policy.egress") { files = [(path, text)] }
    init(files: [(path: String, text: String)]) { self.files = files }

    private func marked(_ kind: String, _ id: DiagnosticID) -> [String] {
        var result: [String] = []
        for file in files {
            for (offset, line) in file.text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                guard let range = line.firstRange(of: "# \(kind):") else { continue }
                let ids = line[range.upperBound...].split(separator: ",").map { $0.trimmingBlanks() }
                for marked in ids where marked == id.rawValue { result.append("\(file.path):\(offset + 1)") }
            }
        }
        return result.sorted()
    }

    /// Lints the files and checks the findings of `id` against the markers.
    /// Returns those findings, for checks of their text.
    @discardableResult
    func check(
        _ id: DiagnosticID, publicSuffixes: PublicSuffixList = .implicitOnly,
        sourceLocation: Testing.SourceLocation = #_sourceLocation
    ) -> [Diagnostic] {
        let set = PolicySet(files: files.map { SourceFile(path: $0.path, text: $0.text) })
        #expect(
            set.diagnostics.map(\.rendered) == [], "marker tests lint sets without errors", sourceLocation: sourceLocation)
        let findings = Linter(publicSuffixes: publicSuffixes).lint(set).filter { $0.id == id }
        #expect(findings.allSatisfy { $0.severity == .warning }, sourceLocation: sourceLocation)
        let expected = marked("expect", id)
        let optional = Set(marked("allowed", id))
        let reported = findings.map { "\($0.file.path):\($0.location.line)" }.sorted()
        #expect(
            reported.filter { !optional.contains($0) } == expected,
            "\(id.rawValue) findings:\n\(findings.map(\.rendered).joined(separator: "\n"))",
            sourceLocation: sourceLocation)
        return findings
    }
}

extension Substring {
    fileprivate func trimmingBlanks() -> String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" || $0 == "\r" }.reversed())
    }
}
