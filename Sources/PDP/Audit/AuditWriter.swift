import EgressAPI
import CMemory
import Foundation
import Logging
import NIOConcurrencyHelpers

/// Writes audit records to the chain in batches, on its own thread, so that a
/// slow disk never holds up a decision. Records wait in memory until their
/// batch commits; `append(_:then:)` calls back only after that, which is what
/// enforcers' access reports wait for. On shutdown everything queued is
/// written before `stop()` returns.
public final class AuditWriter: Sendable {
    private struct State {
        var pending: [PendingAudit] = []
        /// Each waiter with the count of records appended up to its last one.
        var waiters: [(upTo: Int64, callback: @Sendable (Error?) -> Void)] = []
        var appended: Int64 = 0
        var written: Int64 = 0
        var stopping = false
        /// When `stop()` was called: the shutdown deadline runs from here.
        var stopRequested: ContinuousClock.Instant?
        /// The shutdown deadline passed with the database still failing.
        var gaveUp = false
        /// The writer is waiting for records: the next append must wake it.
        var idle = true
    }

    private let database: PDPDatabase
    private let metrics: PDPMetrics
    private let logger: Logger
    private let state = NIOLockedValueBox(State())
    /// Signalled when records arrive or the writer should stop.
    private let wakeup = ConditionLock(value: 0)
    private let finished = ConditionLock(value: 0)
    private let head: NIOLockedValueBox<(seq: Int64, hash: String)>
    let maxBatch = 4096
    /// Records accepted but not yet written, at most. Past it, decisions are
    /// refused (503) rather than answered unrecorded: the enforcer fails
    /// closed. About a hundred bytes each for decisions.
    let maxBacklog: Int64

    public init(database: PDPDatabase, metrics: PDPMetrics, logger: Logger, maxBacklog: Int = 100_000) throws {
        self.maxBacklog = Int64(maxBacklog)
        self.database = database
        self.metrics = metrics
        self.logger = logger
        let head = try database.auditHead()
        self.head = NIOLockedValueBox(head)
        metrics.setAuditHead(seq: head.seq, hash: head.hash)
    }

    public var currentHead: (seq: Int64, hash: String) { head.withLockedValue { $0 } }

    public func start() {
        // At the same priority as the event loops: run below them (tried at
        // nice 5), the writer fell behind under load until the backlog bound
        // refused decisions, and the queue's memory grew to its bound.
        let thread = Thread { [self] in run() }
        thread.name = "audit-writer"
        thread.start()
    }

    /// Queues records; `then` runs once they are committed (or failed to be).
    public func append(_ records: [AuditRecord], then: (@Sendable (Error?) -> Void)? = nil) {
        append(records.map { PendingAudit($0) }, then: then)
    }

    /// A decision for the trail. `false` when the backlog is full and it
    /// was not taken.
    func append(_ event: DecisionEvent) -> Bool {
        // CollectionOfOne: no array to allocate for every decision.
        append(CollectionOfOne(PendingAudit(event)), then: nil)
    }

    /// Records were refused: the writer is `maxBacklog` records behind.
    public struct BacklogFull: Error, CustomStringConvertible {
        public let backlog: Int64
        public var description: String { "the audit trail is \(backlog) records behind" }
    }

    @discardableResult
    func append(_ records: some Collection<PendingAudit>, then: (@Sendable (Error?) -> Void)?) -> Bool {
        if records.isEmpty {
            then?(nil)
            return true
        }
        let (accepted, wake, backlog) = state.withLockedValue { state -> (Bool, Bool, Int64) in
            // What was appended and is not yet written, whether still pending
            // or taken by the writer: the memory it holds is bounded.
            let backlog = state.appended - state.written
            guard backlog < maxBacklog else { return (false, false, backlog) }
            state.pending.append(contentsOf: records)
            state.appended += Int64(records.count)
            if let then { state.waiters.append((state.appended, then)) }
            defer { state.idle = false }
            return (true, state.idle, backlog)
        }
        guard accepted else {
            then?(BacklogFull(backlog: backlog))
            return false
        }
        // Only an idle writer needs waking; a busy one takes what is pending
        // when it finishes its batch. (The backlog gauge is set by the writer.)
        if wake {
            wakeup.lock()
            wakeup.unlock(withValue: 1)
        }
        return true
    }

    /// Writes what is queued and stops the thread.
    public func stop() {
        state.withLockedValue {
            $0.stopping = true
            $0.stopRequested = ContinuousClock.now
            $0.idle = false
        }
        wakeup.lock()
        wakeup.unlock(withValue: 1)
        finished.lock(whenValue: 1)
        finished.unlock()
    }

    private func run() {
        var writtenSinceTrim = 0
        while true {
            wakeup.lock(whenValue: 1)
            wakeup.unlock(withValue: 0)
            while true {
                // Everything pending is taken at once (a swap, not a copy) and
                // written in transactions of at most `maxBatch` records.
                let (taken, stopping) = state.withLockedValue { state in
                    var taken: [PendingAudit] = []
                    swap(&taken, &state.pending)
                    // Room for as many again, so that a burst does not grow
                    // the queue by doubling (and fragment memory) each time.
                    state.pending.reserveCapacity(min(taken.count, 65_536))
                    // Mark idle while still holding the lock, so that an
                    // append racing with this never goes unnoticed.
                    if taken.isEmpty, !state.stopping { state.idle = true }
                    return (taken, state.stopping)
                }
                if taken.isEmpty {
                    if stopping {
                        finished.lock()
                        finished.unlock(withValue: 1)
                        return
                    }
                    // A burst's backlog is gone: give its memory back to the
                    // system, or the process stays at its high-water mark.
                    if writtenSinceTrim > 50_000 {
                        cmemory_release_free_memory()
                        writtenSinceTrim = 0
                    }
                    break
                }
                writtenSinceTrim += taken.count
                var start = 0
                while start < taken.count, !state.withLockedValue({ $0.gaveUp }) {
                    let end = min(start + maxBatch, taken.count)
                    write(taken[start..<end], queuedAfter: taken.count - end)
                    start = end
                }
            }
        }
    }

    /// Writes one transaction; `queuedAfter` records taken with it wait behind it.
    private func write(_ batch: ArraySlice<PendingAudit>, queuedAfter: Int) {
        var attempt = 0
        while true {
            do {
                let newHead = try database.appendAudit(batch, after: head.withLockedValue { $0 })
                head.withLockedValue { $0 = newHead }
                metrics.auditWritten.increment(by: Int64(batch.count))
                metrics.setAuditHead(seq: newHead.seq, hash: newHead.hash)
                let (done, backlog) = state.withLockedValue { state in
                    state.written += Int64(batch.count)
                    let written = state.written
                    let done = state.waiters.prefix { $0.upTo <= written }.map(\.callback)
                    state.waiters.removeFirst(done.count)
                    return (done, state.pending.count + queuedAfter)
                }
                metrics.auditBacklog.set(to: Double(backlog))
                done.forEach { $0(nil) }
                return
            } catch {
                // The batch stays in memory and is tried again: dropping it
                // would leave a hole in the trail. Enforcers waiting on it are
                // told (503) after a few attempts, so they keep their reports
                // and send them again; nothing they were told is recorded is lost.
                attempt += 1
                logger.error("audit write failed; retrying", metadata: ["error": "\(error)", "attempt": "\(attempt)"])
                let (failed, backlog, stopRequested) = state.withLockedValue { state in
                    let end = state.written + Int64(batch.count)
                    let failed = attempt >= 3 ? state.waiters.prefix { $0.upTo <= end }.map(\.callback) : []
                    state.waiters.removeFirst(failed.count)
                    return (failed, state.pending.count + batch.count + queuedAfter, state.stopRequested)
                }
                metrics.auditBacklog.set(to: Double(backlog))
                failed.forEach { $0(error) }
                // One deadline for the whole shutdown, not one per batch.
                if let stopRequested, ContinuousClock.now - stopRequested > .seconds(10) {
                    logger.critical(
                        "shutting down with audit records that could not be written",
                        metadata: ["records": "\(backlog)", "error": "\(error)"])
                    let waiting = state.withLockedValue { state in
                        state.gaveUp = true
                        state.pending.removeAll()
                        defer { state.waiters.removeAll() }
                        return state.waiters.map(\.callback)
                    }
                    waiting.forEach { $0(error) }
                    return
                }
                Thread.sleep(forTimeInterval: min(0.1 * Double(attempt), 2))
            }
        }
    }
}
