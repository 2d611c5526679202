/// Prints a policy or test file in the one canonical layout.
///
/// - one statement per line, single spaces, `, ` between items, `deny` and
///   test verdicts padded so that selectors line up;
/// - host names lower-cased without a trailing dot; `==` written `=`;
/// - a statement longer than `lineWidth`, or with comments inside it, breaks
///   after every top-level comma, continuation lines indented four spaces;
/// - comments are kept where they stand; runs of blank lines become one.
///
/// `format` re-parses its own output and refuses to return text whose
/// statements or comments differ from the input's.
public struct Formatter: Sendable {
    public var lineWidth = 100

    public init() {}

    public enum Failure: Error, Sendable, CustomStringConvertible {
        /// The input does not parse; nothing can be formatted.
        case invalidInput([Diagnostic])
        /// The formatter would have changed the meaning (a formatter bug).
        case meaningChanged(path: String)

        public var description: String {
            switch self {
            case .invalidInput(let diagnostics):
                return diagnostics.map(\.rendered).joined(separator: "\n")
            case .meaningChanged(let path):
                return "\(path): refusing to format: the result would not mean the same as the input (please report this)"
            }
        }
    }

    public func format(_ file: SourceFile) throws(Failure) -> String {
        let parsed = ParsedFile(parsing: file)
        let errors = parsed.diagnostics.filter { $0.severity == .error }
        guard errors.isEmpty else { throw .invalidInput(errors) }
        let output = render(parsed)
        let reparsed = ParsedFile(parsing: SourceFile(path: file.path, text: output))
        guard !reparsed.hasErrors,
            reparsed.statements.map(\.meaning) == parsed.statements.map(\.meaning),
            reparsed.comments.map(\.text) == parsed.comments.map(\.text)
        else { throw .meaningChanged(path: file.path) }
        return output
    }

    // MARK: Layout

    private enum Block {
        case statement(Statement)
        case comment(Comment)

        var start: Int {
            switch self {
            case .statement(let s): return s.span.lowerBound
            case .comment(let c): return c.span.lowerBound
            }
        }
    }

    private func render(_ parsed: ParsedFile) -> String {
        let file = parsed.file
        let tokens = Lexer(file).tokens
        var blocks = parsed.statements.map(Block.statement)
        var inner: [Int: [(segment: Int, comment: Comment)]] = [:]
        var trailing: [Int: Comment] = [:]
        for comment in parsed.comments {
            if let index = parsed.statements.firstIndex(where: { $0.span.contains(comment.span.lowerBound) }) {
                let statement = parsed.statements[index]
                inner[index, default: []].append(
                    (segment(after: comment, in: statement, tokens: tokens), comment))
            } else if !comment.ownLine,
                let index = parsed.statements.lastIndex(where: { $0.span.upperBound <= comment.span.lowerBound }),
                file.location(of: parsed.statements[index].span.upperBound).line
                    == file.location(of: comment.span.lowerBound).line,
                trailing[index] == nil
            {
                trailing[index] = comment
            } else {
                blocks.append(.comment(comment))
            }
        }
        blocks.sort { $0.start < $1.start }

        var lines: [String] = []
        var previousEndLine: Int?
        var statementIndex = 0
        for block in blocks {
            let startLine = file.location(of: block.start).line
            if let previousEndLine, startLine > previousEndLine + 1 { lines.append("") }
            switch block {
            case .comment(let comment):
                lines.append(comment.text)
                previousEndLine = startLine
            case .statement(let statement):
                let index = parsed.statements.firstIndex { $0.span == statement.span } ?? statementIndex
                statementIndex = index + 1
                var innerComments = inner[index] ?? []
                if case .expectation = statement, !innerComments.isEmpty {
                    // An expectation's terms are written in canonical order, not
                    // as typed, so a comment cannot keep its place among them: it
                    // goes on its own line above the statement.
                    lines += innerComments.map(\.comment.text)
                    innerComments = []
                }
                var rendered = layout(atoms(statement), comments: innerComments)
                if let comment = trailing[index] { rendered[rendered.count - 1] += "  " + comment.text }
                lines += rendered
                let endOffset = trailing[index]?.span.upperBound ?? statement.span.upperBound
                let innerEnd = inner[index]?.map(\.comment.span.upperBound).max() ?? 0
                previousEndLine = file.location(of: max(endOffset, innerEnd)).line
            }
        }
        return lines.isEmpty ? "" : lines.joined(separator: "\n") + "\n"
    }

    /// The segment (0-based, across selector terms and hosts) that a comment
    /// inside a statement follows: the one before the last top-level comma.
    private func segment(after comment: Comment, in statement: Statement, tokens: [Token]) -> Int {
        var depth = 0
        var commas = 0
        for token in tokens where token.span.lowerBound >= statement.span.lowerBound {
            if token.span.lowerBound >= comment.span.lowerBound { break }
            switch token.kind {
            case .openParen: depth += 1
            case .closeParen: depth -= 1
            case .comma where depth == 0: commas += 1
            default: break
            }
        }
        // Terms and hosts are numbered as one sequence, but no comma stands
        // between the last term and the first host.
        if case .rule(let rule) = statement {
            let termCount = if case .all(let terms) = rule.selector { terms.count } else { 1 }
            return commas <= termCount - 1 ? commas - 1 : commas
        }
        return commas - 1
    }

    /// A statement as words; `breakAfter` marks the top-level commas.
    private struct Atom {
        var text: String
        var breakAfter = false
        /// Index of the segment (term or host) this atom ends, when it ends one.
        var endsSegment: Int?
    }

    private func atoms(_ statement: Statement) -> [Atom] {
        var atoms: [Atom] = []
        var segment = 0
        func list(_ items: [String]) {
            for (i, item) in items.enumerated() {
                let last = i == items.count - 1
                atoms.append(Atom(text: item + (last ? "" : ","), breakAfter: !last, endsSegment: segment))
                segment += 1
            }
        }
        switch statement {
        case .hosts(let decl):
            atoms += [Atom(text: "hosts"), Atom(text: decl.name), Atom(text: "=")]
            list(decl.items.map(\.description))
        case .rule(let rule):
            atoms.append(Atom(text: rule.effect == .allow ? "allow" : "deny "))
            if case .all(let terms) = rule.selector { list(terms.map(\.description)) } else { list(["*"]) }
            atoms.append(Atom(text: "->"))
            list(rule.hosts.map(\.description))
            if let name = rule.name { atoms += [Atom(text: "as"), Atom(text: name)] }
            if rule.dryRun { atoms.append(Atom(text: "dry-run")) }
        case .expectation(let e):
            atoms.append(Atom(text: e.verdict == .allow ? "expect allow " : "expect deny  "))
            list(Self.workloadTerms(e.source))
            atoms.append(Atom(text: "->"))
            // The port is written when it is not the default, or when the host
            // holds a colon, which would otherwise be read as the port's.
            list([e.port == 443 && !e.host.contains(":") ? e.host : "\(e.host):\(e.port)"])
        }
        return atoms
    }

    public static func workloadTerms(_ source: SourceIdentity?) -> [String] {
        guard let source else { return ["*"] }
        var terms: [String] = []
        if let v = source.namespace { terms.append("ns:" + v) }
        if let v = source.serviceAccount { terms.append("sa:" + v) }
        if let v = source.pod { terms.append("pod:" + v) }
        if let v = source.spiffe { terms.append("spiffe:" + v) }
        terms += source.labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        return terms
    }

    private func layout(_ atoms: [Atom], comments: [(segment: Int, comment: Comment)]) -> [String] {
        let oneLine = atoms.map(\.text).joined(separator: " ")
        if comments.isEmpty, oneLine.count <= lineWidth { return [oneLine] }
        // A comment that follows no top-level comma (one inside parentheses)
        // goes with the next line break, or the last one: where the next run
        // will find it, so that formatting twice changes nothing.
        let breaks = atoms.filter(\.breakAfter).compactMap(\.endsSegment)
        guard let lastBreak = breaks.last else {
            return comments.map(\.comment.text) + [oneLine]
        }
        func placement(_ segment: Int) -> Int { breaks.first { $0 >= segment } ?? lastBreak }
        var lines: [String] = []
        var current = ""
        for atom in atoms {
            if !current.isEmpty, current != "    " { current += " " }
            current += atom.text
            if atom.breakAfter {
                let attached = comments.filter { placement($0.segment) == atom.endsSegment }.map(\.comment.text)
                if let first = attached.first { current += "  " + first }
                lines.append(current)
                lines += attached.dropFirst().map { "    " + $0 }
                current = "    "
            }
        }
        lines.append(current)
        return lines
    }
}
