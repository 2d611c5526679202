import Foundation
import PolicyLang

/// SARIF 2.1.0 output, as GitHub code scanning and other tools read it.
extension DiagnosticRenderer {
    private struct Log: Encodable {
        let version = "2.1.0"
        let schema = "https://json.schemastore.org/sarif-2.1.0.json"
        let runs: [Run]
        enum CodingKeys: String, CodingKey {
            case version, runs
            case schema = "$schema"
        }
    }

    private struct Run: Encodable {
        let tool: Tool
        let columnKind = "unicodeCodePoints"
        let results: [Result]
    }

    private struct Tool: Encodable {
        let driver: Driver
    }

    private struct Driver: Encodable {
        let name = "egressctl"
        let rules: [RuleMetadata]
    }

    private struct Text: Encodable {
        let text: String
    }

    private struct RuleMetadata: Encodable {
        let id: String
        let shortDescription: Text
        let defaultConfiguration: Configuration
    }

    private struct Configuration: Encodable {
        let level: String
    }

    private struct Result: Encodable {
        let ruleId: String
        let ruleIndex: Int
        let level: String
        let message: Text
        let locations: [Location]
    }

    private struct Location: Encodable {
        let physicalLocation: PhysicalLocation
    }

    private struct PhysicalLocation: Encodable {
        let artifactLocation: ArtifactLocation
        let region: Region
    }

    private struct ArtifactLocation: Encodable {
        let uri: String
    }

    private struct Region: Encodable {
        let startLine: Int
        let startColumn: Int
        let endLine: Int
        let endColumn: Int
    }

    static func sarif(_ diagnostics: [Diagnostic]) -> String {
        let ids = DiagnosticID.allCases
        let rules = ids.map {
            RuleMetadata(
                id: $0.rawValue, shortDescription: Text(text: $0.summary),
                defaultConfiguration: Configuration(level: $0.defaultSeverity.rawValue))
        }
        let results = diagnostics.map { d in
            let start = d.location
            let end = d.file.location(of: d.span.upperBound)
            return Result(
                ruleId: d.id.rawValue, ruleIndex: ids.firstIndex(of: d.id) ?? 0, level: d.severity.rawValue,
                message: Text(text: d.message + (d.help.map { " (help: \($0))" } ?? "")),
                locations: [
                    Location(
                        physicalLocation: PhysicalLocation(
                            artifactLocation: ArtifactLocation(uri: d.file.path),
                            region: Region(
                                startLine: start.line, startColumn: start.column, endLine: end.line,
                                endColumn: max(end.column, start.column + (end.line == start.line ? 1 : 0)))))
                ])
        }
        return encode(Log(runs: [Run(tool: Tool(driver: Driver(rules: rules)), results: results)])) + "\n"
    }
}
