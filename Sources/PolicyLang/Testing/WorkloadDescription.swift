/// Parses the description of one concrete workload, as on the left of an
/// `expect` line: `*` (no known identity) or `ns:`, `sa:`, `pod:`, `spiffe:`
/// and `key=value` terms. `egressctl eval --from` takes this syntax.
public enum WorkloadDescription {
    public struct Failure: Error, Sendable {
        public let diagnostics: [Diagnostic]
    }

    public static func parse(_ text: String, origin: String = "<workload>") throws(Failure) -> SourceIdentity? {
        let file = SourceFile(path: origin, text: text)
        var parser = Parser(file)
        var source: SourceIdentity?
        do {
            let selector = try parser.parseSelector()
            source = try parser.workload(from: selector, span: 0..<file.bytes.count)
            if parser.current.kind == .newline { _ = parser.advance() }
            if parser.current.kind != .endOfFile {
                try parser.fail(expected: "',' or the end of the workload")
            }
        } catch {}
        let errors = parser.diagnostics.filter { $0.severity == .error }
        guard errors.isEmpty else { throw Failure(diagnostics: errors) }
        return source
    }
}
