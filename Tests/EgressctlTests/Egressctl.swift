import Foundation
import TestSupport

/// Runs the built `egressctl` binary, as a user or CI would.
struct Egressctl {
    struct Output: Sendable {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    static var binary: URL {
        // swift test runs the test bundle from the build's products directory,
        // next to the egressctl it built first (a test dependency).
        let products = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let candidate = products.appendingPathComponent("egressctl")
        if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(".build/debug/egressctl")
    }

    /// Runs it on a thread of its own (see `onOwnThread`) and returns what it did.
    static func run(_ arguments: [String], stdin: String? = nil, in directory: URL? = nil) async throws -> Output {
        try await onOwnThread { try runBlocking(arguments, stdin: stdin, in: directory) }
    }

    private static func runBlocking(_ arguments: [String], stdin: String?, in directory: URL?) throws -> Output {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        let out = Pipe(), err = Pipe(), input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try input.fileHandleForWriting.close()
        // Read both pipes before waiting, so a full pipe never blocks the child.
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Output(
            status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
            stderr: String(decoding: errData, as: UTF8.self))
    }
}

/// A temporary directory of policy files, removed when the test ends.
final class PolicyDirectory {
    let url: URL

    init(_ files: [String: String]) throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("egressctl-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        for (name, text) in files { try write(name, text) }
    }

    func write(_ name: String, _ text: String) throws {
        let file = url.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: file)
    }

    func read(_ name: String) throws -> String {
        try String(contentsOf: url.appendingPathComponent(name), encoding: .utf8)
    }

    var path: String { url.path }

    deinit { try? FileManager.default.removeItem(at: url) }
}

/// The repository's example policies.
let examplePolicies = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("policies").path
