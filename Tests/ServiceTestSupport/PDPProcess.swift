import Foundation
import Testing
import TestSupport

/// A real `egress-pdp serve` in a temporary directory, on ports the kernel
/// picks, with its own SQLite file; stopped and removed when the test ends.
/// (Shared by the service tests and the enforcer-against-service tests.)
public final class PDPProcess: @unchecked Sendable {
    public let directory: URL
    /// Only the first process on a directory removes it; restarts share it.
    private let ownsDirectory: Bool
    public let process = Process()
    public private(set) var decisionPort = 0
    public private(set) var adminPort = 0
    public private(set) var unixSocket: String?
    public private(set) var adminToken = ""
    public private(set) var tlsPort = 0
    public var logFile: URL { directory.appendingPathComponent("pdp.log") }
    public var databasePath: String { directory.appendingPathComponent("data/pdp.sqlite").path }

    public static var binaries: URL {
        // swift test runs the test bundle from the build's products directory,
        // next to the executables it built first (test dependencies).
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    }

    public static var repository: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// The Python with the test tools (h2) that scripts/python-tools
    /// installs; nil, with the test's issue recorded, when it is missing.
    public static func testPython() -> URL? {
        let python = repository.appendingPathComponent(".build/venv-test/bin/python")
        guard FileManager.default.isExecutableFile(atPath: python.path) else {
            Issue.record("no \(python.path): run scripts/python-tools (scripts/test does) to install the Python test tools")
            return nil
        }
        return python
    }

    /// The service on the example policies and a workloads file
    /// (`workloads.yaml` in its directory) holding `workloads`.
    public static func withExamplePolicies(workloads: String, _ arguments: [String] = []) async throws -> PDPProcess {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pdp-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let file = directory.appendingPathComponent("workloads.yaml")
        try workloads.write(to: file, atomically: true, encoding: .utf8)
        return try await PDPProcess.start(
            ["--policies", repository.appendingPathComponent("policies").path, "--workloads", file.path] + arguments,
            directory: directory, removesDirectory: true)
    }

    /// Starts the service and waits until `/readyz` would answer 200, on a
    /// thread of its own (see `onOwnThread`). `directory` lets a test
    /// restart a service on the same data.
    public static func start(
        _ arguments: [String] = [], directory: URL? = nil, removesDirectory: Bool = false, unixSocket: Bool = false
    ) async throws -> PDPProcess {
        try await onOwnThread {
            try PDPProcess(arguments, directory: directory, removesDirectory: removesDirectory, unixSocket: unixSocket)
        }
    }

    private init(_ arguments: [String] = [], directory: URL? = nil, removesDirectory: Bool = false, unixSocket: Bool = false) throws {
        ownsDirectory = directory == nil || removesDirectory
        self.directory = directory ?? FileManager.default.temporaryDirectory.appendingPathComponent("pdp-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: self.directory, withIntermediateDirectories: true)
        var all = ["serve", "--data-dir", self.directory.appendingPathComponent("data").path,
                   "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--threads", "2"]
        if unixSocket {
            let path = self.directory.appendingPathComponent("pdp.sock").path
            all += ["--unix-socket", path]
            self.unixSocket = path
        }
        process.executableURL = Self.binaries.appendingPathComponent("egress-pdp")
        process.arguments = all + arguments
        _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
        let log = try FileHandle(forWritingTo: logFile)
        try log.seekToEnd()
        process.standardError = log
        process.standardOutput = log
        try process.run()
        let deadline = Date().addingTimeInterval(30)
        while true {
            let text = (try? String(contentsOf: logFile, encoding: .utf8)) ?? ""
            let lines = text.split(separator: "\n").suffix(from: 0)
            // Only this run's lines count: a restart appends to the same log.
            let run = lines.reversed().prefix { !$0.contains("state loaded") }.reversed()
            if run.contains(where: { $0.contains("] ready") }) {
                for line in run {
                    if line.contains("decision API listening"), let port = Self.port(in: line, scheme: "h2c://") { decisionPort = port }
                    if line.contains("admin API listening"), let port = Self.port(in: line, scheme: "http://") { adminPort = port }
                    if line.contains("decision API listening"), let port = Self.port(in: line, scheme: "h2://") { tlsPort = port }
                }
                break
            }
            if !process.isRunning { throw Failure("egress-pdp exited with \(process.terminationStatus):\n\(text)") }
            if Date() > deadline { throw Failure("egress-pdp did not become ready:\n\(text)") }
            Thread.sleep(forTimeInterval: 0.02)
        }
        adminToken = try String(contentsOf: self.directory.appendingPathComponent("data/admin.token"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
        public init(_ description: String) { self.description = description }
    }

    private static func port(in line: Substring, scheme: String) -> Int? {
        guard let range = line.range(of: "address=" + scheme) else { return nil }
        let rest = line[range.upperBound...].prefix { $0 != " " }
        return rest.split(separator: ":").last.flatMap { Int($0) }
    }

    /// Stops the service with `signal` and returns its exit status, waiting
    /// for it on a thread of its own (a graceful stop takes a while).
    @discardableResult
    public func stop(_ signal: Int32 = SIGTERM) async -> Int32 {
        (try? await onOwnThread { self.stopNow(signal) }) ?? -1
    }

    private func stopNow(_ signal: Int32) -> Int32 {
        if process.isRunning {
            kill(process.processIdentifier, signal)
            process.waitUntilExit()
        }
        return process.terminationStatus
    }

    public var log: String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }

    deinit {
        _ = stopNow(SIGKILL)
        // EGRESS_TEST_KEEP=1 keeps each service's directory (its log and
        // database) for a look after a failure.
        if ownsDirectory, ProcessInfo.processInfo.environment["EGRESS_TEST_KEEP"] == nil {
            try? FileManager.default.removeItem(at: directory)
        }
    }

    // MARK: Talking to it

    public var decisionURL: String { "http://127.0.0.1:\(decisionPort)" }
    public var adminURL: String { "http://127.0.0.1:\(adminPort)" }

    /// A new token of `role`, made through the admin API. Names are unique
    /// among live tokens: without one, each token gets a name of its own.
    public func token(_ role: String, name: String? = nil) async throws -> String {
        let name = name ?? "test-\(role)-\(UUID().uuidString.prefix(8).lowercased())"
        let answer = try await Curl.run([
            "-X", "POST", adminURL + "/v1/tokens", "-H", "authorization: Bearer \(adminToken)",
            "-H", "content-type: application/json", "-d", #"{"name":"\#(name)","role":"\#(role)"}"#,
        ])
        guard answer.status == 201, let token = answer.json?["token"] as? String else {
            throw Failure("token creation failed: \(answer)")
        }
        return token
    }

    /// POST /v1/decisions over h2c with a pep token.
    public func decide(_ body: String, token: String) async throws -> Curl.Answer {
        try await Curl.run([
            "--http2-prior-knowledge", "-X", "POST", decisionURL + "/v1/decisions", "-H", "authorization: Bearer \(token)",
            "-H", "content-type: application/json", "-d", body,
        ])
    }

    /// A request to the admin API with the admin token.
    public func admin(_ method: String, _ path: String, body: String? = nil, token: String? = nil) async throws -> Curl.Answer {
        var arguments = ["-X", method, adminURL + path, "-H", "authorization: Bearer \(token ?? adminToken)"]
        if let body { arguments += ["-H", "content-type: application/json", "-d", body] }
        return try await Curl.run(arguments)
    }

    /// Waits until every queued audit record is written.
    public func waitForAudit(records: Int, timeout: TimeInterval = 10) async throws -> Int {
        let deadline = Date().addingTimeInterval(timeout)
        var seq = 0
        repeat {
            seq = (try await admin("GET", "/v1/audit/head").json?["seq"] as? Int) ?? 0
            if seq >= records { return seq }
            await pause(0.05)
        } while Date() < deadline
        return seq
    }
}

/// Runs the `curl` command line tool: the HTTP/2 client tests use, as an
/// operator or an enforcer would.
public enum Curl {
    public struct Answer: CustomStringConvertible, Sendable {
        public let status: Int
        public let body: String
        public var json: [String: Any]? { try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any] }
        public var description: String { "\(status) \(body)" }
    }

    public static func run(_ arguments: [String], timeout: Int = 20) async throws -> Answer {
        let run = try await runCommand("/usr/bin/curl", ["-sS", "--max-time", String(timeout), "-w", "\n%{http_code}"] + arguments)
        guard let newline = run.out.lastIndex(of: "\n") else { throw PDPProcess.Failure("curl printed nothing") }
        let status = Int(run.out[run.out.index(after: newline)...]) ?? 0
        if status == 0 && !run.err.isEmpty { return Answer(status: 0, body: run.err) }
        return Answer(status: status, body: String(run.out[..<newline]))
    }
}

/// Runs a command and returns its exit status and output, waiting for it on
/// a thread of its own (see `onOwnThread`).
public func runCommand(
    _ path: String, _ arguments: [String], environment: [String: String]? = nil
) async throws -> (status: Int32, out: String, err: String) {
    try await onOwnThread { try runCommandBlocking(path, arguments, environment: environment) }
}

func runCommandBlocking(
    _ path: String, _ arguments: [String], environment: [String: String]?
) throws -> (status: Int32, out: String, err: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    if let environment { process.environment = environment }
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    let errData = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
}
