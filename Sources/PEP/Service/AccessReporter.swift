import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import ServiceLifecycle

/// One connection the enforcer handled, as `POST /v1/access` takes it.
public struct AccessRecord: Sendable {
    public var time: Int64
    public var sourceIP: String
    public var host: String
    public var port: Int
    public var allowed: Bool
    public var rule: String?
    public var ruleName: String?
    public var revision: Int64?
    public var reason: String?
    public var originalDestination: String?
    public var upstream: String?
    public var cached: Bool?
    public var bytesUp: Int64 = 0
    public var bytesDown: Int64 = 0
    public var durationMs: Int64 = 0

    public init(
        time: Int64, sourceIP: String, host: String, port: Int, allowed: Bool, rule: String? = nil, ruleName: String? = nil,
        revision: Int64? = nil, reason: String? = nil, originalDestination: String? = nil, upstream: String? = nil,
        cached: Bool? = nil, bytesUp: Int64 = 0, bytesDown: Int64 = 0, durationMs: Int64 = 0
    ) {
        self.time = time
        self.sourceIP = sourceIP
        self.host = host
        self.port = port
        self.allowed = allowed
        self.rule = rule
        self.ruleName = ruleName
        self.revision = revision
        self.reason = reason
        self.originalDestination = originalDestination
        self.upstream = upstream
        self.cached = cached
        self.bytesUp = bytesUp
        self.bytesDown = bytesDown
        self.durationMs = durationMs
    }
}

/// `POST /v1/access` writes fields by name and `verdict` as text; absent
/// optionals are left out. (JSONEncoder: a tenth of the CPU of building
/// dictionaries for JSONSerialization, which perf showed as 11% of the
/// enforcer's CPU under a connection storm.)
extension AccessRecord: Encodable {
    private enum CodingKeys: String, CodingKey {
        case time, sourceIP, host, port, verdict, rule, ruleName, revision, reason, originalDestination, upstream, cached
        case bytesUp, bytesDown, durationMs
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(time, forKey: .time)
        try c.encode(sourceIP, forKey: .sourceIP)
        try c.encode(host, forKey: .host)
        try c.encode(port, forKey: .port)
        try c.encode(allowed ? "allow" : "deny", forKey: .verdict)
        try c.encodeIfPresent(rule, forKey: .rule)
        try c.encodeIfPresent(ruleName, forKey: .ruleName)
        try c.encodeIfPresent(revision, forKey: .revision)
        try c.encodeIfPresent(reason, forKey: .reason)
        try c.encodeIfPresent(originalDestination, forKey: .originalDestination)
        try c.encodeIfPresent(upstream, forKey: .upstream)
        try c.encodeIfPresent(cached, forKey: .cached)
        try c.encode(bytesUp, forKey: .bytesUp)
        try c.encode(bytesDown, forKey: .bytesDown)
        try c.encode(durationMs, forKey: .durationMs)
    }
}

private struct AccessBatch: Encodable {
    let connections: [AccessRecord]
}

/// Reports every handled connection to the decision service in batches. The
/// buffer is bounded: when the service is away long enough to fill it, new
/// records are dropped, counted in `egress_pep_access_records_dropped_total`
/// and logged with their count, never silently. A batch is forgotten only once
/// the service answered 202 (it commits before answering).
public final class AccessReporter: Service, Sendable {
    private struct State {
        var buffer: [AccessRecord] = []
        var droppedSinceLog = 0
    }

    private let pdp: PDPClient
    private let metrics: PEPMetrics?
    private let logger: Logger
    private let capacity: Int
    private let batchSize = 5_000
    private let interval: Duration
    private let state = NIOLockedValueBox(State())

    public init(pdp: PDPClient, metrics: PEPMetrics?, logger: Logger, capacity: Int = 100_000, interval: Duration = .milliseconds(250)) {
        self.pdp = pdp
        self.metrics = metrics
        self.logger = logger
        self.capacity = capacity
        self.interval = interval
    }

    public func record(_ record: AccessRecord) {
        let kept = state.withLockedValue { state -> Bool in
            guard state.buffer.count < capacity else {
                state.droppedSinceLog += 1
                return false
            }
            state.buffer.append(record)
            return true
        }
        if kept { metrics?.accessBacklog.increment() } else { metrics?.accessDropped.increment() }
    }

    public var backlog: Int { state.withLockedValue { $0.buffer.count } }

    public func run() async throws {
        // Runs until shutdown, then sends what is left (for up to 5 seconds).
        await cancelWhenGracefulShutdown { await self.flushPeriodically() }
        let deadline = ContinuousClock.now + .seconds(5)
        while backlog > 0, ContinuousClock.now < deadline {
            if !(await flush()) { try? await Task.sleep(for: .milliseconds(200)) }
        }
        if backlog > 0 {
            logger.error("shutting down with connection records not reported", metadata: ["records": "\(backlog)"])
        }
    }

    private func flushPeriodically() async {
        var failures = 0
        while !Task.isCancelled {
            // Backs off while the service does not take reports.
            try? await Task.sleep(for: interval * (failures == 0 ? 1 : min(20, 1 << failures)))
            failures = await flush() ? 0 : failures + 1
        }
    }

    /// Sends everything buffered, a batch at a time. False if a batch failed.
    @discardableResult
    public func flush() async -> Bool {
        let dropped = state.withLockedValue { state in
            defer { state.droppedSinceLog = 0 }
            return state.droppedSinceLog
        }
        if dropped > 0 {
            logger.error(
                "the connection report buffer was full; records were dropped (the decision service is not taking reports)",
                metadata: ["dropped": "\(dropped)", "capacity": "\(capacity)"])
        }
        while true {
            let batch = state.withLockedValue { Array($0.buffer.prefix(batchSize)) }
            if batch.isEmpty { return true }
            do {
                let body = ByteBuffer(bytes: try JSONEncoder().encode(AccessBatch(connections: batch)))
                // Long enough for the service to commit a full batch: a batch
                // sent again after a timeout would be recorded twice.
                let response = try await pdp.send(method: "POST", path: "/v1/access", body: body, timeout: .seconds(30))
                if response.status == 400 {
                    // The service will never take this batch: keeping it would
                    // block every later report. Dropped, counted and logged.
                    logger.error(
                        "the decision service rejected a connection report; dropping it",
                        metadata: ["answer": "\(String(buffer: response.body).prefix(300))", "records": "\(batch.count)"])
                    state.withLockedValue { $0.buffer.removeFirst(batch.count) }
                    metrics?.accessDropped.increment(by: Int64(batch.count))
                    metrics?.accessBacklog.decrement(by: Double(batch.count))
                    continue
                }
                guard response.status == 202 else {
                    logger.warning(
                        "the decision service did not take a connection report; keeping it",
                        metadata: ["status": "\(response.status)", "answer": "\(String(buffer: response.body).prefix(300))"])
                    return false
                }
            } catch {
                logger.warning("cannot report connections; keeping them", metadata: ["error": "\(error)", "records": "\(batch.count)"])
                return false
            }
            state.withLockedValue { $0.buffer.removeFirst(batch.count) }
            metrics?.accessSent.increment(by: Int64(batch.count))
            metrics?.accessBacklog.decrement(by: Double(batch.count))
        }
    }
}
