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

    /// How long one iptables command may take.
    static let timeout: TimeInterval = 30

    var save: String { family == .ipv4 ? "iptables-save" : "ip6tables-save" }
    var restore: String { family == .ipv4 ? "iptables-restore" : "ip6tables-restore" }

    /// The rules of `table` as installed.
    public func saved(_ table: String) throws -> SavedRules.Table {
        let output = try run(save, ["-t", table], input: nil)
        return SavedRules(parsing: output).tables[table] ?? SavedRules.Table()
    }

    /// Applies a restore script as one transaction, leaving other rules be.
    public func apply(_ script: String) throws {
        _ = try run(restore, ["--noflush"], input: script)
    }

    /// Where a command is: the usual system directories first (a node
    /// agent's PATH may lack sbin), then PATH.
    static func locate(_ command: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let directories = ["/usr/sbin", "/sbin", "/usr/bin", "/bin"] + path.split(separator: ":").map(String.init)
        return directories.map { "\($0)/\(command)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    private func run(_ command: String, _ arguments: [String], input: String?) throws -> String {
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
        try process.run()
        // A command stuck on the xtables lock (or anything else) is ended:
        // `keep` and a liveness probe must not hang behind it.
        let deadline = DispatchWorkItem { if process.isRunning { process.terminate() } }
        DispatchQueue.global().asyncAfter(deadline: .now() + Self.timeout, execute: deadline)
        defer { deadline.cancel() }
        if let input { stdin.fileHandleForWriting.write(Data(input.utf8)) }
        try stdin.fileHandleForWriting.close()
        // Read both to the end before waiting: a full pipe would block the child.
        let out = stdout.fileHandleForReading.readDataToEndOfFile()
        let err = stderr.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let message = String(decoding: err, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            let how = process.terminationReason == .uncaughtSignal ? "was stopped after \(Int(Self.timeout)) s" : "failed (exit \(process.terminationStatus))"
            throw Failure(description: "\(command) \(arguments.joined(separator: " ")) \(how): \(message)")
        }
        return String(decoding: out, as: UTF8.self)
    }
}
