import ArgumentParser
import Foundation
import PolicyLang

/// Turns diagnostics into one of the output formats of `egressctl lint`.
enum DiagnosticFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json, sarif, github
}

enum DiagnosticRenderer {
    static func render(_ diagnostics: [Diagnostic], as format: DiagnosticFormat) -> String {
        switch format {
        case .text: return diagnostics.map(text).joined()
        case .json: return json(diagnostics)
        case .sarif: return sarif(diagnostics)
        case .github: return diagnostics.map(github).joined()
        }
    }

    /// The spec's line, the source line with the span underlined, and the help.
    static func text(_ d: Diagnostic) -> String {
        let start = d.location
        var out = d.rendered + "\n"
        let line = d.file.lineText(start.line)
        if !line.isEmpty {
            let end = d.file.location(of: max(d.span.upperBound, d.span.lowerBound + 1))
            let width = end.line == start.line ? max(end.column - start.column, 1) : max(line.utf8.count - start.column + 1, 1)
            out += "    " + line + "\n"
            out += "    " + String(repeating: " ", count: start.column - 1) + "^" + String(repeating: "~", count: width - 1) + "\n"
        }
        if let help = d.help { out += "    help: " + help + "\n" }
        return out
    }

    private struct JSONDiagnostic: Encodable {
        let file: String
        let line: Int
        let column: Int
        let endLine: Int
        let endColumn: Int
        let severity: String
        let id: String
        let message: String
        let help: String?

        enum CodingKeys: String, CodingKey {
            case file, line, column, endLine, endColumn, severity, id, message, help
        }

        /// Written out by hand so that a diagnostic without help says
        /// `"help": null`, as documented, instead of leaving the key out.
        func encode(to encoder: Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(file, forKey: .file)
            try container.encode(line, forKey: .line)
            try container.encode(column, forKey: .column)
            try container.encode(endLine, forKey: .endLine)
            try container.encode(endColumn, forKey: .endColumn)
            try container.encode(severity, forKey: .severity)
            try container.encode(id, forKey: .id)
            try container.encode(message, forKey: .message)
            try container.encode(help, forKey: .help)
        }
    }

    static func json(_ diagnostics: [Diagnostic]) -> String {
        let records = diagnostics.map { d in
            let start = d.location
            let end = d.file.location(of: d.span.upperBound)
            return JSONDiagnostic(
                file: d.file.path, line: start.line, column: start.column, endLine: end.line, endColumn: end.column,
                severity: d.severity.rawValue, id: d.id.rawValue, message: d.message, help: d.help)
        }
        return encode(records) + "\n"
    }

    static func encode<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(value)) ?? Data("null".utf8), as: UTF8.self)
    }

    /// GitHub Actions workflow commands, one per diagnostic.
    static func github(_ d: Diagnostic) -> String {
        func escapeData(_ s: String) -> String {
            s.replacingOccurrences(of: "%", with: "%25").replacingOccurrences(of: "\r", with: "%0D")
                .replacingOccurrences(of: "\n", with: "%0A")
        }
        func escapeProperty(_ s: String) -> String {
            escapeData(s).replacingOccurrences(of: ":", with: "%3A").replacingOccurrences(of: ",", with: "%2C")
        }
        let start = d.location
        let end = d.file.location(of: d.span.upperBound)
        let level = d.severity == .error ? "error" : "warning"
        let message = d.message + (d.help.map { "\nhelp: " + $0 } ?? "")
        return "::\(level) file=\(escapeProperty(d.file.path)),line=\(start.line),col=\(start.column),endLine=\(end.line),endColumn=\(end.column),title=\(escapeProperty(d.id.rawValue))::\(escapeData(message))\n"
    }
}
