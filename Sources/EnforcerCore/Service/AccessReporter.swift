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
        logDropped()
        while true {
            let batch = takeBatch()
            if batch.records.isEmpty && batch.dropped == nil { return true }
            // A batch that is kept for later may be displaced again.
            defer { state.withLockedValue { $0.refusedInFlight = 0 } }
            switch await send(batch) {
            case .rejected:
                dropRejected(batch)
                continue
            case .kept:
                keepDropped(batch)
                return false
            case .accepted(let confirmed):
                // A service that does not confirm the count took the records
                // but not the count: it goes with the next report.
                if !confirmed { keepDropped(batch) }
                forget(batch)
                metrics?.accessSent.increment(by: Int64(batch.records.count))
                metrics?.accessBacklog.decrement(by: Double(batch.records.count))
                // A count the service did not confirm waits for the next
                // period once the records are out: sending it alone again at
                // once would loop for as long as the service ignores it.
                if batch.records.isEmpty { return true }
            }
        }
    }

    /// One report's worth: allowed records first, then refused ones, with the
    /// count of dropped records, which comes back if the batch does not get
    /// through.
    private struct Batch {
        let records: [AccessRecord]
        let allowedCount: Int
        let dropped: AccessReport.Dropped?
    }

    private enum SendResult {
        /// Taken (202); `confirmed`: the dropped count, if any, was echoed.
        case accepted(confirmed: Bool)
        /// Refused as malformed (400): it will never be taken.
        case rejected
        /// Not taken now (unreachable, another status, shutdown): kept.
        case kept
    }

    private func logDropped() {
        let dropped = state.withLockedValue { state in
            defer { state.droppedSinceLog = 0 }
            return state.droppedSinceLog
        }
        if dropped > 0 {
            logger.error(
                "the connection report buffer was full; records were dropped (the decision service is not taking reports)",
                metadata: ["dropped": "\(dropped)", "capacity": "\(capacity)"])
        }
    }

    private func takeBatch() -> Batch {
        state.withLockedValue { state in
            let allowed = Array(state.allowed.prefix(batchSize))
            let records = allowed + state.refused.prefix(batchSize - allowed.count)
            state.refusedInFlight = records.count - allowed.count
            defer { state.dropped = nil }
            return Batch(records: records, allowedCount: allowed.count, dropped: state.dropped)
        }
    }

    private func send(_ batch: Batch) async -> SendResult {
        do {
            // Written piece by piece (AccessReport.write): JSONEncoder took
            // 6% of the enforcer's CPU with a record for every plain-HTTP
            // request, JSONSerialization 11% under a connection storm.
            var body = ByteBuffer()
            body.reserveCapacity(256 * batch.records.count + 64)
            AccessReport(connections: batch.records, dropped: batch.dropped).write(into: &body)
            // Long enough for the service to commit a full batch: a batch
            // sent again after a timeout would be recorded twice.
            let response = try await pdp.send(method: "POST", path: "/v1/access", body: body, timeout: .seconds(30))
            let answer = String(buffer: response.body).prefix(300)
            switch response.status {
            case 202:
                guard let dropped = batch.dropped else { return .accepted(confirmed: true) }
                let echoed = (try? JSONDecoder().decode(AccessReport.Accepted.self, from: Data(buffer: response.body)))?.dropped
                let confirmed = echoed == dropped.allowed + dropped.refused
                if !confirmed { warnUnconfirmedOnce(answer: answer) }
                return .accepted(confirmed: confirmed)
            case 400:
                logger.error(
                    "the decision service rejected a connection report; dropping it",
                    metadata: ["answer": "\(answer)", "records": "\(batch.records.count)"])
                return .rejected
            default:
                logger.warning(
                    "the decision service did not take a connection report; keeping it",
                    metadata: ["status": "\(response.status)", "answer": "\(answer)"])
                return .kept
            }
        } catch is CancellationError {
            // Cancelled mid-report: shutdown stopping the periodic flush, whose
            // batch the final flush then sends, or the service failing, when
            // run() logs every record left unreported. Nothing failed that
            // this line could say.
            logger.debug(
                "a connection report was interrupted by shutdown; the final flush sends it",
                metadata: ["records": "\(batch.records.count)"])
            return .kept
        } catch {
            logger.warning("cannot report connections; keeping them", metadata: ["error": "\(error)", "records": "\(batch.records.count)"])
            return .kept
        }
    }

    private func warnUnconfirmedOnce(answer: Substring) {
        let warnedBefore = state.withLockedValue { state in
            defer { state.warnedUnconfirmed = true }
            return state.warnedUnconfirmed
        }
        if !warnedBefore {
            logger.warning(
                "the decision service did not confirm the count of dropped records; it is sent again with every report",
                metadata: ["answer": "\(answer)"])
        }
    }

    private func keepDropped(_ batch: Batch) {
        guard let dropped = batch.dropped else { return }
        state.withLockedValue { $0.addDropped(dropped) }
    }

    private func forget(_ batch: Batch) {
        state.withLockedValue { state in
            state.allowed.removeFirst(batch.allowedCount)
            state.refused.removeFirst(batch.records.count - batch.allowedCount)
            state.refusedInFlight = 0
        }
    }

    /// The service will never take this batch (400): keeping it would block
    /// every later report. Dropped, counted and logged; its count goes with
    /// the next report instead, with the count this one carried (unless that
    /// was all it carried: then nothing would ever get through).
    private func dropRejected(_ batch: Batch) {
        forget(batch)
        state.withLockedValue { state in
            for record in batch.records { state.noteDropped(record) }
            state.droppedSinceLog -= batch.records.count
            if let dropped = batch.dropped, !batch.records.isEmpty { state.addDropped(dropped) }
        }
        metrics?.accessDropped.increment(by: Int64(batch.records.count))
        metrics?.accessBacklog.decrement(by: Double(batch.records.count))
    }
}

extension AccessReport.Dropped {
    func merged(with other: Self) -> Self {
        Self(allowed: allowed + other.allowed, refused: refused + other.refused, first: min(first, other.first), last: max(last, other.last))
    }
}
