import ArgumentParser

@main
struct Egressctl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "egressctl",
        abstract: "Lint, format, test and evaluate egress policies; manage egress-pdp.",
        discussion: """
            A policy set is every *.egress file directly inside one directory, read in
            sorted order; *_test.egress files hold tests and are not policy. Commands
            that take PATHs accept files and directories; a directory is searched
            recursively and each directory holding .egress files is its own set.

            apply, revisions, activate, workloads, audit and token talk to egress-pdp's
            admin API (--server, default http://127.0.0.1:15011) with a bearer token from
            --token-file or the EGRESSCTL_TOKEN environment variable.

            Exit status: 0 on success, 1 when problems were found (lint errors, failed
            tests, files that need formatting), 2 when a file cannot be read, 64 on
            usage errors.
            """,
        subcommands: [
            LintCommand.self, FormatCommand.self, TestCommand.self, EvalCommand.self, ApplyCommand.self, RevisionsCommand.self,
            ActivateCommand.self, WorkloadsCommand.self, AuditCommand.self, TokenCommand.self,
        ]
    )
}
