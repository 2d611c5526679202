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
///
/// Decisions are queued in bursts, not one by one: a connection handler
/// reserves room for each decision (`reserve`, an atomic count, so the
/// backlog bound holds) and hands the burst over once per read
/// (`submit`). With a lock taken per decision, the two event loops and the
/// writer waited on it (a futex each) thousands of times a second under
/// load. For the same reason the writer, once busy, naps a millisecond
/// after a small batch instead of being woken for every burst.
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
        /// The writer is waiting for records: the next submit must wake it.
        var idle = true
    }

    private let database: PDPDatabase
    private let metrics: PDPMetrics
    private let logger: Logger
    private let state = NIOLockedValueBox(State())
    /// Records reserved and not yet written: queued, or still in a
    /// connection's burst. Bounded by `maxBacklog`; a batch of reported
    /// connections is checked as one record would be.
    private let backlog: BoundedCount
    /// Signalled when records arrive or the writer should stop.
    private let wakeup = ConditionLock(value: 0)
    private let finished = ConditionLock(value: 0)
    private let head: NIOLockedValueBox<(seq: Int64, hash: String)>
    let maxBatch = 4096
    /// A batch smaller than this is followed by a nap of `nap`, so that the
    /// next one gathers: fewer transactions and no wake-up per record. Naps
    /// of 0.2 to 20 ms were tried under load: longer ones made the writer's
    /// bursts, and with them the decisions' p99, longer (`bench/pdp-load`).
    let napBelow = 2048
    let nap: TimeInterval = 0.001
    /// How long one transaction gathers bursts before it commits.
    let commitEvery: Duration = .milliseconds(10)
    /// Records accepted but not yet written, at most. Past it, decisions are
    /// refused (503) rather than answered unrecorded: the enforcer fails
    /// closed. About a hundred bytes each for decisions.
    let maxBacklog: Int

    public init(database: PDPDatabase, metrics: PDPMetrics, logger: Logger, maxBacklog: Int = 100_000) throws {
        self.maxBacklog = maxBacklog
        backlog = BoundedCount(limit: maxBacklog, batchesMayOvershoot: true)
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
        // nice 2, 4 and 5), the writer fell behind under load until the
        // backlog bound refused decisions, and p99 did not improve.
        let thread = Thread { [self] in
            // Named from inside: on Linux, Foundation does not pass a name set
            // before start to the system thread (top -H, perf show this one).
            Thread.current.name = "audit-writer"
            run()
        }
        thread.start()
    }

    /// Queues records; `then` runs once they are committed (or failed to be).
    public func append(_ records: [AuditRecord], then: (@Sendable (Error?) -> Void)? = nil) {
        guard reserve(records.count) else {
            then?(BacklogFull(backlog: backlog.current))
            return
        }
        submit(records.map { PendingAudit($0) }, then: then)
    }

    /// Records were refused: the writer is `maxBacklog` records behind.
    public struct BacklogFull: Error, CustomStringConvertible {
        public let backlog: Int
        public var description: String { "the audit trail is \(backlog) records behind" }
    }

    /// Takes room for `count` records in the backlog; `false` when it is full.
    /// Every record reserved must be submitted.
    func reserve(_ count: Int) -> Bool { backlog.reserve(count) }

    /// Queues records whose room was reserved; `then` runs once they are
    /// committed (or failed to be).
    func submit(_ records: some Collection<PendingAudit>, then: (@Sendable (Error?) -> Void)? = nil) {
        if records.isEmpty {
            then?(nil)
            return
        }
        let wake = state.withLockedValue { state -> Bool in
            state.pending.append(contentsOf: records)
            state.appended += Int64(records.count)
            if let then { state.waiters.append((state.appended, then)) }
            defer { state.idle = false }
            return state.idle
        }
        // Only an idle writer needs waking; a busy or napping one takes what
        // is pending when it comes round. (The backlog gauge is set by the writer.)
        if wake {
            wakeup.lock()
            wakeup.unlock(withValue: 1)
        }
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
        var lastTaken = 0
        while true {
            wakeup.lock(whenValue: 1)
            wakeup.unlock(withValue: 0)
            // Nothing was pending at the last look: one nap and one more look
            // before sleeping until woken.
            var quiet = false
            while true {
                let (taken, stopping) = take(expecting: lastTaken, mayIdle: quiet)
                if taken.isEmpty {
                    // The next spare is small again: an idle queue should not
                    // hold a burst's worth of room.
                    lastTaken = 0
                    if stopping {
                        finished.lock()
                        finished.unlock(withValue: 1)
                        return
                    }
                    if !quiet {
                        quiet = true
                        Thread.sleep(forTimeInterval: nap)
                        continue
                    }
                    // A burst's backlog is gone: give its memory back to the
                    // system, or the process stays at its high-water mark.
                    if writtenSinceTrim > 50_000 {
                        cmemory_release_free_memory()
                        writtenSinceTrim = 0
                    }
                    break
                }
                quiet = false
                lastTaken = taken.count
                writtenSinceTrim += taken.count
                if taken.count > maxBatch {
                    // Catching up: batches of `maxBatch`, one commit each.
                    var start = 0
                    while start < taken.count, !state.withLockedValue({ $0.gaveUp }) {
                        let end = min(start + maxBatch, taken.count)
                        write(Array(taken[start..<end]), gathering: false)
                        start = end
                    }
                } else {
                    writtenSinceTrim += write(taken, gathering: !stopping)
                }
            }
        }
    }

    /// Everything pending, taken at once (a swap, not a copy); what replaces
    /// it already has room for about as many again, allocated here rather
    /// than under the lock. `limit`: at most that many, the oldest; the rest
    /// stay queued. `mayIdle`: when nothing is pending, the writer is marked
    /// idle (to be woken by the next submit).
    private func take(expecting count: Int, limit: Int = .max, mayIdle: Bool) -> (taken: [PendingAudit], stopping: Bool) {
        var spare: [PendingAudit] = []
        spare.reserveCapacity(min(count + count / 4, 65_536))
        return state.withLockedValue { state in
            if state.pending.count > limit {
                // Rare (a transaction near its size cap meeting a backlog):
                // a copy of the oldest, not a swap.
                defer { state.pending.removeFirst(limit) }
                return (Array(state.pending.prefix(limit)), state.stopping)
            }
            swap(&spare, &state.pending)
            // Marked idle while still holding the lock, so that a submit
            // racing with this never goes unnoticed.
            if spare.isEmpty, mayIdle, !state.stopping { state.idle = true }
            return (spare, state.stopping)
        }
    }

    /// Writes `first` in one transaction and, when `gathering`, what arrives
    /// during the next `commitEvery` too, napping between bursts; commits
    /// once. Returns how many records came in after `first`.
    ///
    /// Why one commit for several bursts: each commit writes every page it
    /// changed to the WAL, and an audit row shares its table page and index
    /// pages with the rows before it, so committing every burst (hundreds of
    /// times a second) wrote the same pages again and again, and synced each
    /// time. The CPU work stays in small steps: inserting a burst only
    /// changes pages in SQLite's cache.
    @discardableResult
    private func write(_ first: [PendingAudit], gathering: Bool) -> Int {
        var records = first
        var attempt = 0
        while true {
            // A retry writes exactly what the failed transaction held.
            let gather = gathering && attempt == 0
            let started = ContinuousClock.now
            var fed = 0
            var emptyTakes = 0
            /// The size of the last burst added: a big one is followed at once.
            var lastBurst = records.count
            do {
                let newHead = try database.appendAudit(after: head.withLockedValue { $0 }) { () -> ArraySlice<PendingAudit>? in
                    if fed < records.count {
                        defer { fed = records.count }
                        return records[fed...]
                    }
                    guard gather else { return nil }
                    while ContinuousClock.now - started < commitEvery, records.count < maxBatch {
                        if lastBurst < napBelow { Thread.sleep(forTimeInterval: nap) }
                        // Capped: a gathered transaction stays within `maxBatch`.
                        let (more, stopping) = take(expecting: lastBurst, limit: maxBatch - records.count, mayIdle: false)
                        if stopping { return more.isEmpty ? nil : append(more) }
                        if !more.isEmpty { return append(more) }
                        emptyTakes += 1
                        lastBurst = 0
                        // Two looks a nap apart found nothing: commit now.
                        if emptyTakes >= 2 { return nil }
                    }
                    return nil
                }
                func append(_ more: [PendingAudit]) -> ArraySlice<PendingAudit> {
                    emptyTakes = 0
                    lastBurst = more.count
                    let start = records.count
                    records.append(contentsOf: more)
                    fed = records.count
                    return records[start...]
                }
                committed(records.count, head: newHead)
                return records.count - first.count
            } catch {
                attempt += 1
                if failed(records.count, attempt: attempt, error: error) { return records.count - first.count }
            }
        }
    }

    /// After a commit of `count` records: the head moves, and what waited on them is told.
    private func committed(_ count: Int, head newHead: (seq: Int64, hash: String)) {
        head.withLockedValue { $0 = newHead }
        metrics.auditWritten.increment(by: Int64(count))
        metrics.setAuditHead(seq: newHead.seq, hash: newHead.hash)
        let done = state.withLockedValue { state in
            state.written += Int64(count)
            let written = state.written
            let done = state.waiters.prefix { $0.upTo <= written }.map(\.callback)
            state.waiters.removeFirst(done.count)
            return done
        }
        let remaining = backlog.release(count)
        metrics.auditBacklog.set(to: Double(remaining))
        done.forEach { $0(nil) }
    }

    /// After a failed transaction of `count` records. The records stay in
    /// memory and are tried again: dropping them would leave a hole in the
    /// trail. Enforcers waiting on them are told (503) after a few attempts,
    /// so they keep their reports and send them again; nothing they were told
    /// is recorded is lost. True when the writer gives up (shutting down with
    /// the database still failing).
    private func failed(_ count: Int, attempt: Int, error: Error) -> Bool {
        logger.error("audit write failed; retrying", metadata: ["error": "\(error)", "attempt": "\(attempt)"])
        let (failed, stopRequested) = state.withLockedValue { state in
            let end = state.written + Int64(count)
            let failed = attempt >= 3 ? state.waiters.prefix { $0.upTo <= end }.map(\.callback) : []
            state.waiters.removeFirst(failed.count)
            return (failed, state.stopRequested)
        }
        let backlog = backlog.current
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
            return true
        }
        Thread.sleep(forTimeInterval: min(0.1 * Double(attempt), 2))
        return false
    }
}
