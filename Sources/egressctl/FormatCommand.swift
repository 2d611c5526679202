import ArgumentParser
import PolicyLang

struct FormatCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fmt",
        abstract: "Print policy and test files in the canonical layout.",
        discussion: """
            Without --write or --check, prints the formatted text of each file to
            standard output. The formatter re-parses its output and refuses to write
            anything whose meaning or comments differ from the input.
            """)

    @Flag(help: "Rewrite files in place (atomically) when their layout changes.")
    var write = false

    @Flag(help: "Change nothing; list the files that are not formatted and exit 1 if there are any.")
    var check = false

    @Argument(help: "Policy or test files, or directories to search for them.")
    var paths: [String]

    func validate() throws {
        if write && check { throw ValidationError("--write and --check cannot be used together") }
    }

    func run() throws {
        try reportingFileErrors {
            var failed = false
            var unformatted: [String] = []
            for path in try PolicyFiles.find(paths) {
                let source = try PolicyFiles.read(path)
                let formatted: String
                do {
                    formatted = try PolicyLang.Formatter().format(source)
                } catch let failure as PolicyLang.Formatter.Failure {
                    StandardStreams.err(failure.description + "\n")
                    failed = true
                    continue
                }
                let changed = formatted.utf8.elementsEqual(source.bytes) == false
                if check {
                    if changed { unformatted.append(path) }
                } else if write {
                    if changed {
                        try PolicyFiles.writeAtomically(formatted, to: path)
                        StandardStreams.err("formatted \(path)\n")
                    }
                } else {
                    StandardStreams.out(formatted)
                }
            }
            for path in unformatted { StandardStreams.out("\(path): not formatted (run egressctl fmt --write)\n") }
            if failed || !unformatted.isEmpty { throw ExitCode(1) }
        }
    }
}
