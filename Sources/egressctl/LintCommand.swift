import ArgumentParser
import PolicyLang

struct LintCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lint",
        abstract: "Report errors and warnings in policy sets.",
        discussion: """
            Each directory holding .egress files is linted as one policy set; a file
            named on the command line is linted with the set of its directory, and only
            its own problems are reported. Test files are checked for syntax.

            Rule ids: \(DiagnosticID.allCases.map(\.rawValue).joined(separator: ", ")).
            Exit status: 0 clean, 1 on errors (and on warnings with --strict).
            """)

    @Option(help: "Output format: text, json, sarif or github.")
    var format: DiagnosticFormat = .text

    @Flag(help: "Exit 1 on warnings too.")
    var strict = false

    @OptionGroup var publicSuffixes: PublicSuffixOption

    @Argument(help: "Policy files or directories.")
    var paths: [String]

    func run() throws {
        try reportingFileErrors {
            let linter = Linter(publicSuffixes: try publicSuffixes.load())
            let diagnostics = try PolicySetScope.diagnostics(paths) { linter.lint($0) }
            StandardStreams.out(DiagnosticRenderer.render(diagnostics, as: format))
            let errors = diagnostics.count { $0.severity == .error }
            let warnings = diagnostics.count - errors
            if format == .text {
                StandardStreams.err("\(errors) error\(errors == 1 ? "" : "s"), \(warnings) warning\(warnings == 1 ? "" : "s")\n")
            }
            if errors > 0 || (strict && warnings > 0) { throw ExitCode(1) }
        }
    }
}

/// Groups the files named on a command line into the policy sets they belong to.
enum PolicySetScope {
    /// Runs `check` on every policy set touched by `paths`; keeps the
    /// diagnostics of the named files (all of a set's for a named directory).
    static func diagnostics(_ paths: [String], check: (PolicySet) -> [Diagnostic]) throws -> [Diagnostic] {
        let files = try PolicyFiles.find(paths)
        if files.isEmpty { throw PolicyFiles.ReadError(path: paths.joined(separator: " "), reason: "no .egress files found") }
        var byDirectory: [String: [String]] = [:]
        for file in files { byDirectory[PolicyFiles.directory(of: file), default: []].append(file) }
        var diagnostics: [Diagnostic] = []
        for (directory, named) in byDirectory.sorted(by: { $0.key < $1.key }) {
            let policyPaths = try PolicyFiles.policyPaths(in: directory)
            let testPaths = named.filter { $0.hasSuffix("_test.egress") }
            let set = PolicySet(files: try (policyPaths + testPaths).map(PolicyFiles.read))
            let wanted = Set(named)
            diagnostics += check(set).filter { wanted.contains($0.file.path) }
        }
        return diagnostics
    }
}
