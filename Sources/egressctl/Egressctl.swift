import ArgumentParser

@main
struct Egressctl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "egressctl",
        abstract: "Lint, format, test and evaluate egress policies.",
        discussion: """
            A policy set is every *.egress file directly inside one directory, read in
            sorted order; *_test.egress files hold tests and are not policy. Commands
            that take PATHs accept files and directories; a directory is searched
            recursively and each directory holding .egress files is its own set.

            Exit status: 0 on success, 1 when problems were found (lint errors, failed
            tests, files that need formatting), 2 when a file cannot be read, 64 on
            usage errors.
            """,
        subcommands: [LintCommand.self, FormatCommand.self, TestCommand.self, EvalCommand.self]
    )
}
