import ArgumentParser
import EgressAPI
import Foundation
import PolicyLang
import LocalFiles

struct ApplyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply",
        abstract: "Lint a policy directory, upload it as a new revision and activate it.",
        discussion: """
            The directory's *.egress files (tests included) are linted here first; with
            errors nothing is uploaded. The service checks them again, runs the tests, and
            refuses a set that has errors or failing tests: the active revision stays.
            """)

    @OptionGroup var connection: ServerOptions
    @OptionGroup var publicSuffixes: PublicSuffixOption

    @Option(help: "Why this change is made; kept with the revision.")
    var reason: String = "egressctl apply"

    @Flag(help: "Store the revision without activating it (egressctl activate N later).")
    var noActivate = false

    @Argument(help: "The policy directory.")
    var directory: String

    func run() async throws {
        let client = try connection.client()
        try await reportingClientErrors {
            let files: [Revision.File]
            do {
                files = try PolicyDirectory.files(in: directory)
            } catch let error as PolicyDirectory.ReadError {
                throw PolicyFiles.ReadError(path: error.path, reason: error.reason)
            }
            let set = PolicySet(files: files.map { SourceFile(path: $0.path, text: $0.content) })
            let diagnostics = Linter(publicSuffixes: try publicSuffixes.load()).lint(set)
            StandardStreams.err(diagnostics.map(DiagnosticRenderer.text).joined())
            if diagnostics.contains(where: { $0.severity == .error }) {
                StandardStreams.err("egressctl: \(directory) has errors; nothing was uploaded\n")
                throw ExitCode(1)
            }
            let created = try await client.send(
                "POST", "v1/revisions", body: RevisionRequest(files: files, reason: reason, activate: !noActivate),
                as: CreatedRevision.self)
            let tests = created.testsPassed > 0 ? " (\(created.testsPassed) tests passed)" : ""
            StandardStreams.out(
                "revision \(created.revision) stored\(created.active ? " and active" : "; activate it with: egressctl activate \(created.revision)")\(tests)\n")
        }
    }
}

struct RevisionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revisions", abstract: "List policy revisions, newest first; * marks the active one.")

    @OptionGroup var connection: ServerOptions

    @Option(help: "How many to list.")
    var limit: Int = 20

    @Flag(help: "Print JSON.")
    var json = false

    func run() async throws {
        let client = try connection.client()
        try await reportingClientErrors {
            let page = try await client.get(
                "v1/revisions", query: [URLQueryItem(name: "limit", value: String(limit))], as: RevisionsPage.self)
            if json { return try printJSON(page) }
            for r in page.revisions {
                StandardStreams.out(
                    "\(r.active ? "*" : " ") \(r.id)\t\(isoTime(r.createdAt))\t\(r.author)\t\(r.files) files\t\(r.reason)\n")
            }
            if page.revisions.isEmpty { StandardStreams.err("no revisions yet: egressctl apply DIR stores the first\n") }
        }
    }
}

struct ActivateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "activate", abstract: "Make a stored revision active (roll back or forward).")

    @OptionGroup var connection: ServerOptions

    @Argument(help: "The revision number.")
    var revision: Int64

    func run() async throws {
        let client = try connection.client()
        try await reportingClientErrors {
            try await client.raw("POST", "v1/revisions/\(revision)/activate", body: Optional<Int>.none)
            StandardStreams.out("revision \(revision) is active\n")
        }
    }
}
