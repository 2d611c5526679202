import EgressAPI
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOFoundationCompat
import ServiceLifecycle

/// One connection the enforcer handled, as `POST /v1/access` takes it (the
/// wire type egress-pdp decodes).
public typealias AccessRecord = AccessReport.Connection

/// Reports every handled connection to the decision service in batches. The
/// buffer is bounded: when the service is away long enough to fill it,
/// records are dropped, never silently: counted in
/// `egress_pep_access_records_dropped_total`, logged with their count, and
/// told to the service with the next report (how many of each verdict, and
/// when), which writes a `dropped` record into the audit trail. Refusals may fill at most
/// half of it, and an allowed connection's record displaces the oldest
/// refusal when it is full: a workload cannot flood cheap refusals to push
/// the records of connections that went out. A batch is forgotten only once
/// the service answered 202 (it commits before answering).
public final class AccessReporter: Service, Sendable {
    private struct State {
        var allowed = CircularBuffer<AccessRecord>()
        var refused = CircularBuffer<AccessRecord>()
        var droppedSinceLog = 0
        /// Dropped records the service has not been told of yet.
        var dropped: AccessReport.Dropped?
        /// Whether a service that ignores the count was warned about.
        var warnedUnconfirmed = false
        /// Refusals at the front of `refused` that are in the batch being sent:
        /// never displaced, or the batch's removal would take the wrong ones.
        var refusedInFlight = 0
        var count: Int { allowed.count + refused.count }

        /// The record's verdict is counted at the time of the drop.
        mutating func noteDropped(_ record: AccessRecord) {
            droppedSinceLog += 1
            let now = wallClockMilliseconds()
            addDropped(AccessReport.Dropped(allowed: record.allowed ? 1 : 0, refused: record.allowed ? 0 : 1, first: now, last: now))
        }

        mutating func addDropped(_ more: AccessReport.Dropped) {
            dropped = dropped.map { $0.merged(with: more) } ?? more
        }
    }

    private let pdp: PDPClient
    private let metrics: EnforcerMetrics?
    private let logger: Logger
    private let capacity: Int
    private let batchSize = 5_000
    private let interval: Duration
    private let state = NIOLockedValueBox(State())

    /// The service's 202: how many connections it recorded, and the count of
    /// dropped records it recorded, when the report carried one.
    private struct Accepted: Decodable {
        var accepted: Int
        var dropped: Int64?
    }

    public init(pdp: PDPClient, metrics: EnforcerMetrics?, logger: Logger, capacity: Int = 100_000, interval: Duration = .milliseconds(250)) {
        self.pdp = pdp
        self.metrics = metrics
        self.logger = logger
        self.capacity = capacity
        self.interval = interval
    }

    public func record(_ record: AccessRecord) {
        // Whether it was added to the backlog; false when it, or the refusal
        // it displaced, was dropped.
        let added = state.withLockedValue { state -> Bool in
            if record.allowed {
                if state.count < capacity {
                    state.allowed.append(record)
                    return true
                }
                guard state.refused.count > state.refusedInFlight else {
                    state.noteDropped(record)
                    return false
                }
                let displaced: AccessRecord
                if state.refusedInFlight == 0 {
                    displaced = state.refused.removeFirst()
                } else {
                    displaced = state.refused.remove(at: state.refused.index(state.refused.startIndex, offsetBy: state.refusedInFlight))
                }
                state.noteDropped(displaced)
                state.allowed.append(record)
                return false
            }
            guard state.count < capacity, state.refused.count < max(1, capacity / 2) else {
                state.noteDropped(record)
                return false
            }
            state.refused.append(record)
            return true
        }
        if added { metrics?.accessBacklog.increment() } else { metrics?.accessDropped.increment() }
    }

    public var backlog: Int { state.withLockedValue { $0.count } }

    /// Dropped records the service has not confirmed it was told of.
    public var droppedUntold: AccessReport.Dropped? { state.withLockedValue { $0.dropped } }

    /// How many records of allowed and of refused connections wait.
    public var waiting: (allowed: Int, refused: Int) { state.withLockedValue { ($0.allowed.count, $0.refused.count) } }

    public func run() async throws {
        // Runs until shutdown, then sends what is left (for up to 5 seconds).
        await cancelWhenGracefulShutdown { await self.flushPeriodically() }
        let deadline = ContinuousClock.now + .seconds(5)
        while backlog > 0 || droppedUntold != nil, ContinuousClock.now < deadline {
            if !(await flush()) { try? await Task.sleep(for: .milliseconds(200)) }
        }
        if backlog > 0 || droppedUntold != nil {
            let dropped = droppedUntold
            logger.error(
                "shutting down with connection records not reported",
                metadata: ["records": "\(backlog)", "dropped_allowed": "\(dropped?.allowed ?? 0)", "dropped_refused": "\(dropped?.refused ?? 0)"])
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
            // The count of dropped records goes with the batch, and comes
            // back if the batch does not get through.
            let (batch, allowedCount, dropped) = state.withLockedValue { state -> ([AccessRecord], Int, AccessReport.Dropped?) in
                let allowed = Array(state.allowed.prefix(batchSize))
                let batch = allowed + state.refused.prefix(batchSize - allowed.count)
                state.refusedInFlight = batch.count - allowed.count
                defer { state.dropped = nil }
                return (batch, allowed.count, state.dropped)
            }
            if batch.isEmpty && dropped == nil { return true }
            let keepDropped = { [state] in
                guard let dropped else { return }
                state.withLockedValue { $0.addDropped(dropped) }
            }
            let forget = { [state] in
                state.withLockedValue { state in
                    state.allowed.removeFirst(allowedCount)
                    state.refused.removeFirst(batch.count - allowedCount)
                    state.refusedInFlight = 0
                }
            }
            // A batch that is kept for later may be displaced again.
            defer { state.withLockedValue { $0.refusedInFlight = 0 } }
            do {
                // JSONEncoder: a tenth of the CPU of dictionaries for
                // JSONSerialization, which perf showed as 11% of the
                // enforcer's CPU under a connection storm.
                let body = ByteBuffer(bytes: try JSONEncoder().encode(AccessReport(connections: batch, dropped: dropped)))
                // Long enough for the service to commit a full batch: a batch
                // sent again after a timeout would be recorded twice.
                let response = try await pdp.send(method: "POST", path: "/v1/access", body: body, timeout: .seconds(30))
                if response.status == 400 {
                    // The service will never take this batch: keeping it would
                    // block every later report. Dropped, counted and logged.
                    logger.error(
                        "the decision service rejected a connection report; dropping it",
                        metadata: ["answer": "\(String(buffer: response.body).prefix(300))", "records": "\(batch.count)"])
                    forget()
                    // Their count goes with the next report instead, with the
                    // count this one carried (unless that was all it carried:
                    // then nothing would ever get through).
                    state.withLockedValue { state in
                        for record in batch { state.noteDropped(record) }
                        state.droppedSinceLog -= batch.count
                        if let dropped, !batch.isEmpty { state.addDropped(dropped) }
                    }
                    metrics?.accessDropped.increment(by: Int64(batch.count))
                    metrics?.accessBacklog.decrement(by: Double(batch.count))
                    continue
                }
                guard response.status == 202 else {
                    keepDropped()
                    logger.warning(
                        "the decision service did not take a connection report; keeping it",
                        metadata: ["status": "\(response.status)", "answer": "\(String(buffer: response.body).prefix(300))"])
                    return false
                }
                if let dropped, (try? JSONDecoder().decode(Accepted.self, from: Data(buffer: response.body)))?.dropped != dropped.allowed + dropped.refused {
                    // A service that does not know the field took the records
                    // but not the count: it goes with the next report.
                    keepDropped()
                    let warnedBefore = state.withLockedValue { state in
                        defer { state.warnedUnconfirmed = true }
                        return state.warnedUnconfirmed
                    }
                    if !warnedBefore {
                        logger.warning(
                            "the decision service did not confirm the count of dropped records; it is sent again with every report",
                            metadata: ["answer": "\(String(buffer: response.body).prefix(300))"])
                    }
                }
            } catch is CancellationError {
                // Cancelled mid-report: shutdown stopping the periodic flush,
                // whose batch the final flush then sends, or the service
                // failing, when run() logs every record left unreported.
                // Nothing failed that this line could say.
                keepDropped()
                logger.debug("a connection report was interrupted by shutdown; the final flush sends it", metadata: ["records": "\(batch.count)"])
                return false
            } catch {
                keepDropped()
                logger.warning("cannot report connections; keeping them", metadata: ["error": "\(error)", "records": "\(batch.count)"])
                return false
            }
            forget()
            metrics?.accessSent.increment(by: Int64(batch.count))
            metrics?.accessBacklog.decrement(by: Double(batch.count))
            // A count the service did not confirm waits for the next period
            // once the records are out: sending it alone again at once would
            // loop for as long as the service ignores it.
            if batch.isEmpty { return true }
        }
    }
}

extension AccessReport.Dropped {
    func merged(with other: Self) -> Self {
        Self(allowed: allowed + other.allowed, refused: refused + other.refused, first: min(first, other.first), last: max(last, other.last))
    }
}
