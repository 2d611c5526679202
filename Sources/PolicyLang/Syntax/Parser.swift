/// Recursive-descent parser for policy and test files.
///
/// It never stops at the first problem: a statement that does not parse is
/// reported and skipped up to the end of its line, and problems inside a
/// statement that parses (an invalid host, selector or port) are reported
/// while the rest of the statement is still read.
struct Parser {
    let file: SourceFile
    private let tokens: [Token]
    private var position = 0
    private(set) var comments: [Comment]
    private(set) var diagnostics: [Diagnostic] = []

    /// Thrown to abandon the current statement after a syntax error.
    struct Abandon: Error {}

    init(_ file: SourceFile) {
        self.file = file
        let lexer = Lexer(file)
        self.tokens = lexer.tokens
        self.comments = lexer.comments
    }

    // MARK: Token access

    var current: Token { tokens[position] }

    func peek(_ offset: Int = 1) -> Token { tokens[min(position + offset, tokens.count - 1)] }

    mutating func advance() -> Token {
        let token = tokens[position]
        if position < tokens.count - 1 { position += 1 }
        return token
    }


    mutating func report(
        _ id: DiagnosticID, _ span: Range<Int>, _ message: String, help: String? = nil
    ) {
        diagnostics.append(Diagnostic(id, in: file, at: span, message, help: help))
    }

    /// Reports `expected X, found Y` at the current token and abandons the statement.
    mutating func fail(expected: String, help: String? = nil) throws -> Never {
        report(.syntax, current.span, "expected \(expected), found \(current.describedForMessage)", help: help)
        throw Abandon()
    }

    mutating func expectWord(_ what: String) throws -> Token {
        guard current.kind == .word else { try fail(expected: what) }
        return advance()
    }

    // MARK: Statements

    mutating func parseFile() -> [Statement] {
        var statements: [Statement] = []
        while current.kind != .endOfFile {
            if current.kind == .newline {
                _ = advance()
                continue
            }
            do {
                let statement = try parseStatement()
                if current.kind != .newline && current.kind != .endOfFile {
                    try fail(expected: "end of line")
                }
                statements.append(statement)
            } catch {
                while current.kind != .newline && current.kind != .endOfFile { _ = advance() }
            }
        }
        return statements
    }

    private mutating func parseStatement() throws -> Statement {
        let start = current.span.lowerBound
        guard current.kind == .word else {
            try fail(expected: file.isTestFile ? "'expect'" : "'allow', 'deny' or 'hosts'")
        }
        let keyword = current.text
        let isPolicyKeyword = keyword == "allow" || keyword == "deny" || keyword == "hosts"
        if isPolicyKeyword && !file.isTestFile {
            return keyword == "hosts" ? .hosts(try parseHostList(start: start)) : .rule(try parseRule(start: start))
        }
        if keyword == "expect" && file.isTestFile {
            return .expectation(try parseExpectation(start: start))
        }
        switch keyword {
        case "expect":
            report(.syntax, current.span, "'expect' statements belong in *_test.egress files")
            throw Abandon()
        case "allow", "deny", "hosts":
            report(.syntax, current.span, "a test file holds only 'expect' statements, found '\(keyword)'")
            throw Abandon()
        default:
            let help = ["allows", "accept", "permit"].contains(current.text.lowercased()) ? "write 'allow'"
                : ["denies", "reject", "drop", "block"].contains(current.text.lowercased()) ? "write 'deny'" : nil
            try fail(expected: file.isTestFile ? "'expect'" : "'allow', 'deny' or 'hosts'", help: help)
        }
    }

    private var previousEnd: Int { position > 0 ? tokens[position - 1].span.upperBound : 0 }

    private mutating func parseRule(start: Int) throws -> Rule {
        // Called only on an `allow` or `deny` word.
        guard let effect = Effect(rawValue: advance().text) else { try fail(expected: "'allow' or 'deny'") }
        let selectorStart = current.span.lowerBound
        let selector = try parseSelector()
        let selectorSpan = selectorStart..<previousEnd
        guard current.kind == .arrow else { try fail(expected: "',' or '->'") }
        _ = advance()
        let hosts = try parseHostItems(allowReferences: true)
        var name: String?
        var dryRun = false
        while current.kind == .word {
            if current.text == "dry-run", !dryRun {
                dryRun = true
                _ = advance()
            } else if current.text == "as", name == nil {
                _ = advance()
                let nameToken = try expectWord("a rule name after 'as'")
                if !Self.isValidName(nameToken.text) {
                    report(.syntax, nameToken.span, "rule name '\(nameToken.text)' must be letters, digits, '-', '_' or '.'")
                }
                name = nameToken.text
            } else if current.text == "dry-run" || current.text == "as" {
                report(.syntax, current.span, "'\(current.text)' is given twice in this rule", help: "a rule has at most one name and one 'dry-run'")
                throw Abandon()
            } else {
                try fail(expected: "',', 'as NAME', 'dry-run' or end of line")
            }
        }
        return Rule(
            effect: effect, selector: selector, selectorSpan: selectorSpan, hosts: hosts, name: name,
            dryRun: dryRun, span: start..<previousEnd)
    }

    private mutating func parseHostList(start: Int) throws -> HostListDeclaration {
        _ = advance()
        let nameToken = try expectWord("a host list name")
        if !Self.isValidName(nameToken.text) {
            report(.syntax, nameToken.span, "host list name '\(nameToken.text)' must be letters, digits, '-', '_' or '.'")
        }
        guard current.kind == .equals else { try fail(expected: "'=' after the host list name") }
        _ = advance()
        let items = try parseHostItems(allowReferences: false)
        return HostListDeclaration(name: nameToken.text, nameSpan: nameToken.span, items: items, span: start..<previousEnd)
    }

    static func isValidName(_ text: String) -> Bool {
        !text.isEmpty
            && text.utf8.allSatisfy {
                ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z")) || ($0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z"))
                    || ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || $0 == UInt8(ascii: "-")
                    || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".")
            }
    }
}
