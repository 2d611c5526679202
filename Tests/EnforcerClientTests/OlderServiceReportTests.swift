import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOPosix
import EnforcerCore
import Testing
import ServiceTestSupport

/// The enforcer's connection reports to a decision service from before
/// reports carried a count of dropped records (an enforcer upgraded before
/// its service). Such a service takes the records and ignores the count:
/// the records must go once, and the count must stay untold and go again,
/// once a period, never in a loop, with one warning.
@Suite struct OlderServiceReportTests {
    /// Keeps what the reporter logs, to count the warnings.
    struct KeptLog: LogHandler {
        let lines: NIOLockedValueBox<[(Logger.Level, String)]>
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .info

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            lines.withLockedValue { $0.append((event.level, "\(event.message)")) }
        }
    }

    @Test func recordsGoOnceAndTheUnconfirmedCountGoesAgainEachPeriod() async throws {
        guard let python = PDPProcess.testPython() else { return }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("older-pdp-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let reports = directory.appendingPathComponent("reports.jsonl")

        let service = Process()
        service.executableURL = python
        service.arguments = [PDPProcess.repository.appendingPathComponent("Tests/Support/older_pdp.py").path, reports.path]
        let out = Pipe()
        service.standardOutput = out
        // A file, not the test's own: the runner waits for its output to close.
        let errors = directory.appendingPathComponent("stderr.txt")
        _ = FileManager.default.createFile(atPath: errors.path, contents: nil)
        service.standardError = try FileHandle(forWritingTo: errors)
        try service.run()
        defer {
            // SIGKILL: started from a test's thread, it may have SIGTERM blocked.
            kill(service.processIdentifier, SIGKILL)
            service.waitUntilExit()
        }
        let firstLine = String(decoding: out.fileHandleForReading.availableData, as: UTF8.self)
        let port = try #require(
            Int(firstLine.trimmingCharacters(in: .whitespacesAndNewlines)),
            "the service printed '\(firstLine)': \((try? String(contentsOf: errors, encoding: .utf8)) ?? "")")

        let lines = NIOLockedValueBox<[(Logger.Level, String)]>([])
        let logger = Logger(label: "older-service") { _ in KeptLog(lines: lines) }
        let client = PDPClient(
            endpoint: .h2c(host: "127.0.0.1", port: port), token: "egr_test", tls: nil, group: MultiThreadedEventLoopGroup.singleton, logger: logger,
            requestTimeout: .seconds(30), keepalive: (.seconds(10), .seconds(30)))
        let reporter = AccessReporter(pdp: client, metrics: EnforcerMetrics(), logger: logger, capacity: 3)
        for i in 0..<4 {
            reporter.record(AccessRecord(time: Int64(i), sourceIP: "198.18.1.2", host: "h\(i).example", port: 443, allowed: true))
        }
        #expect(reporter.droppedUntold?.allowed == 1, "the fourth record did not fit")

        #expect(await reporter.flush())
        #expect(reporter.backlog == 0, "the service took the records")
        #expect(reporter.droppedUntold?.allowed == 1, "the service did not confirm the count")
        #expect(await reporter.flush())
        #expect(reporter.droppedUntold?.allowed == 1)
        await client.close()

        let received = try String(contentsOf: reports, encoding: .utf8).split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        let hosts = received.flatMap { ($0["connections"] as? [[String: Any]] ?? []).compactMap { $0["host"] as? String } }
        #expect(hosts == ["h0.example", "h1.example", "h2.example"], "each record once")
        // With the records, then alone once in the same flush, then once in the next.
        let counts = received.map { ($0["dropped"] as? [String: Any])?["allowed"] as? Int }
        #expect(counts == [1, 1, 1], "\(received)")
        let warnings = lines.withLockedValue { $0 }.filter { $0.0 == .warning && $0.1.contains("did not confirm the count of dropped records") }
        #expect(warnings.count == 1)
    }
}
