import EgressAPI
import EnforcerCore
import NIOConcurrencyHelpers
import ServiceLifecycle

/// Turns queries into access records. A refused query is a record of its
/// own (source, name, type, reason), as a refused connection is. Allowed
/// queries are counted per source, name and type and reported once per
/// interval as one record with a `count`: a workload's normal lookups,
/// many per second, would otherwise flood the trail. The tally is bounded:
/// at `maxKeys` distinct (source, name, type) it is handed to the reporter
/// at once rather than grown.
final class QueryLedger: Service, Sendable {
    private struct Key: Hashable {
        let sourceIP: String
        let host: String
        let queryType: String
    }

    private struct Tally {
        var count: Int64
        let first: Int64
        var last: Int64
        let verdict: Verdict

        mutating func add(at time: Int64) {
            count += 1
            last = time
        }
    }

    private let reporter: AccessReporter
    private let interval: Duration
    private let maxKeys: Int
    private let metrics: DNSMetrics
    private let tallies = NIOLockedValueBox<[Key: Tally]>([:])

    init(reporter: AccessReporter, interval: Duration, metrics: DNSMetrics, maxKeys: Int = 50_000) {
        self.reporter = reporter
        self.interval = interval
        self.metrics = metrics
        self.maxKeys = maxKeys
    }

    func allowed(sourceIP: String, host: String, queryType: String, verdict: Verdict) {
        let now = wallClockMilliseconds()
        let key = Key(sourceIP: sourceIP, host: host, queryType: queryType)
        // One lock and one lookup per query: the tally's size comes out with it.
        let (full, size) = tallies.withLockedValue { tallies -> ([Key: Tally]?, Int) in
            let before = tallies.count
            tallies[key, default: Tally(count: 0, first: now, last: now, verdict: verdict)].add(at: now)
            guard tallies.count > before, tallies.count >= maxKeys else { return (nil, tallies.count) }
            defer { tallies.removeAll(keepingCapacity: true) }
            return (tallies, 0)
        }
        if let full { report(full) } else if size > 0 { metrics.countedBacklog.set(Int64(size)) }
    }

    func refused(sourceIP: String, host: String, queryType: String, reason: String, verdict: Verdict?, cached: Bool?) {
        var record = AccessRecord(
            time: wallClockMilliseconds(), sourceIP: sourceIP, host: host, port: 0, allowed: false, rule: verdict?.rule,
            ruleName: verdict?.name, revision: verdict?.revision, reason: reason, cached: cached)
        record.queryType = queryType
        reporter.record(record)
    }

    /// Hands every tally to the reporter.
    func flush() {
        let taken = tallies.withLockedValue { tallies in
            defer { tallies.removeAll(keepingCapacity: true) }
            return tallies
        }
        report(taken)
    }

    private func report(_ tallies: [Key: Tally]) {
        metrics.countedBacklog.set(Int64(0))
        for (key, tally) in tallies {
            var record = AccessRecord(
                time: tally.first, sourceIP: key.sourceIP, host: key.host, port: 0, allowed: true, rule: tally.verdict.rule,
                ruleName: tally.verdict.name, revision: tally.verdict.revision, durationMs: tally.last - tally.first)
            record.queryType = key.queryType
            record.count = tally.count
            reporter.record(record)
        }
    }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: self.interval)
                self.flush()
            }
        }
        flush()
    }
}
