import Foundation

/// `iptables-save` and `iptables-restore` (or their IPv6 forms) as
/// processes: the only way egress-pep reads or changes a node's rules.
public struct Iptables: Sendable {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public let family: CIDR.Family

    public init(family: CIDR.Family) {
        self.family = family
    }

    /// How long one iptables command may take: a save or restore takes
    /// milliseconds, and a restore waits at most 5 s for the xtables lock
    /// (`-w 5`), so that `check` fits the liveness probe's 30 s.
    static let timeout: TimeInterval = 10

    var save: String { family == .ipv4 ? "iptables-save" : "ip6tables-save" }
    var restore: String { family == .ipv4 ? "iptables-restore" : "ip6tables-restore" }

    /// The rules of `table` as installed.
    public func saved(_ table: String) throws -> SavedRules.Table {
        let output = try run(save, ["-t", table], input: nil)
        return SavedRules(parsing: output).tables[table] ?? SavedRules.Table()
    }

    /// Applies a restore script as one transaction, leaving other rules be.
    public func apply(_ script: String) throws {
        _ = try run(restore, ["--noflush", "-w", "5"], input: script)
    }

    /// Where a command is: the usual system directories first (a node
    /// agent's PATH may lack sbin), then PATH.
    static func locate(_ command: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let directories = ["/usr/sbin", "/sbin", "/usr/bin", "/bin"] + path.split(separator: ":").map(String.init)
        return directories.map { "\($0)/\(command)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Runs `command`; every way it can fail is a `Failure` that says so
    /// (`keep` goes on after one; anything else would stop it).
    private func run(_ command: String, _ arguments: [String], input: String?) throws -> String {
        do {
            return try runOnce(command, arguments, input: input)
        } catch let failure as Failure {
            throw failure
        } catch {
            throw Failure(description: "\(command) \(arguments.joined(separator: " ")) could not be run: \(error)")
        }
    }

    private func runOnce(_ command: String, _ arguments: [String], input: String?) throws -> String {
        guard let executable = Self.locate(command) else {
            throw Failure(description: "\(command) is not installed (Debian: apt-get install iptables)")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let stdout = Pipe()
        let stderr = Pipe()
        let stdin = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        process.standardInput = stdin
        // A restore that exits early (its lock wait over) closes its input:
        // writing more must be an error, not SIGPIPE ending egress-pep.
        signal(SIGPIPE, SIG_IGN)
        try process.run()
        // A command stuck on the xtables lock (or anything else) is ended:
        // `keep` and a liveness probe must not hang behind it.
        let deadline = DispatchWorkItem { if process.isRunning { process.terminate() } }
        DispatchQueue.global().asyncAfter(deadline: .now() + Self.timeout, execute: deadline)
        defer { deadline.cancel() }
        // Both outputs are read while the input is written and until the
        // end, side by side: a full pipe either way would block the child.
        let errors = ReadToEnd(stderr.fileHandleForReading)
        let output = ReadToEnd(stdout.fileHandleForReading)
        var written: Error?
        if let input {
            do { try stdin.fileHandleForWriting.write(contentsOf: Data(input.utf8)) } catch { written = error }
        }
        try? stdin.fileHandleForWriting.close()
        let out = output.wait()
        let err = errors.wait()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let message = String(decoding: err, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            let how = process.terminationReason == .uncaughtSignal ? "was stopped after \(Int(Self.timeout)) s" : "failed (exit \(process.terminationStatus))"
            throw Failure(description: "\(command) \(arguments.joined(separator: " ")) \(how): \(message)")
        }
        if let written { throw Failure(description: "\(command) did not take its input: \(written)") }
        return String(decoding: out, as: UTF8.self)
    }
}

/// A pipe read to its end on a thread of its own.
private final class ReadToEnd: @unchecked Sendable {
    // Written once by the reading thread before `done` is signalled, read
    // after `wait` returns: the semaphore orders the two.
    private var data = Data()
    private let done = DispatchSemaphore(value: 0)

    init(_ handle: FileHandle) {
        Thread.detachNewThread { [self] in
            data = handle.readDataToEndOfFile()
            done.signal()
        }
    }

    func wait() -> Data {
        done.wait()
        return data
    }
}
