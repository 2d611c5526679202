/// A file after parsing: what could be understood, and every problem found.
public struct ParsedFile: Sendable {
    public let file: SourceFile
    public let statements: [Statement]
    public let comments: [Comment]
    public let diagnostics: [Diagnostic]

    public init(parsing file: SourceFile) {
        var parser = Parser(file)
        self.file = file
        self.statements = parser.parseFile()
        self.comments = parser.comments
        self.diagnostics = parser.diagnostics
    }

    public var hasErrors: Bool { diagnostics.contains { $0.severity == .error } }

    public var rules: [Rule] {
        statements.compactMap { if case .rule(let rule) = $0 { return rule } else { return nil } }
    }

    public var hostLists: [HostListDeclaration] {
        statements.compactMap { if case .hosts(let decl) = $0 { return decl } else { return nil } }
    }

    public var expectations: [Expectation] {
        statements.compactMap { if case .expectation(let e) = $0 { return e } else { return nil } }
    }
}
