import NIOConcurrencyHelpers
import NIOCore

/// Verdicts by (source, host, port), each kept for the TTL the decision
/// service gave it. Concurrent misses for one key make one request. When the
/// service cannot be asked, the cache fails closed, or, if `staleMaxAge` is
/// set, answers with a verdict that expired at most that long ago.
/// `invalidateAll()` (on a watch event) forgets every verdict: a new revision
/// or inventory may change any of them.
public final class VerdictCache: Sendable {
    public enum Origin: String, Sendable {
        /// Fresh from the cache.
        case hit
        /// Asked of the decision service (or joined a request already asked).
        case miss
        /// Expired, served because the decision service could not be asked.
        case stale
    }

    struct Entry: Sendable {
        let verdict: Verdict
        let expires: NIODeadline
    }

    private struct State {
        var entries: LRUDictionary<VerdictKey, Entry>
        /// Requests being asked, with the epoch they were asked in. Emptied
        /// by an invalidation, so that no lookup after it joins an old one.
        var inflight: [VerdictKey: (task: Task<Verdict, Error>, epoch: Int)] = [:]
        /// Grows with every invalidation: an answer asked before one is not stored.
        var epoch = 0
        /// Lookups waiting for an answer being asked.
        var waiting = 0
    }

    /// A day: no answer is kept longer, whatever TTL it came with.
    static let maxTTL = 86_400

    public typealias Fetch = @Sendable (VerdictKey) async throws -> Verdict

    private let state: NIOLockedValueBox<State>
    private let fetch: Fetch
    private let staleMaxAge: TimeAmount
    private let metrics: EnforcerMetrics?
    /// The clock TTLs and stale windows are measured on: the system's, or a
    /// test's that it moves by hand.
    private let clock: @Sendable () -> NIODeadline

    public init(
        capacity: Int, staleMaxAge: TimeAmount = .zero, metrics: EnforcerMetrics? = nil,
        now: @escaping @Sendable () -> NIODeadline = { NIODeadline.now() }, fetch: @escaping Fetch
    ) {
        state = NIOLockedValueBox(State(entries: LRUDictionary(capacity: capacity)))
        self.fetch = fetch
        self.staleMaxAge = staleMaxAge
        self.metrics = metrics
        clock = now
    }

    public var count: Int { state.withLockedValue { $0.entries.count } }

    /// Lookups waiting now for an answer being asked of the service (one
    /// request however many wait for it).
    public var waitingLookups: Int { state.withLockedValue { $0.waiting } }

    /// A fresh cached verdict, without waiting: the connection's fast path,
    /// which stays on its event loop. Nil when the service must be asked.
    public func cachedVerdict(for key: VerdictKey) -> Verdict? {
        let now = clock()
        let verdict = state.withLockedValue { state -> Verdict? in
            guard let entry = state.entries.get(key), entry.expires > now else { return nil }
            return entry.verdict
        }
        if verdict != nil { metrics?.cacheHits.increment() }
        return verdict
    }

    /// The verdict for `key` and where it came from. Throws when the service
    /// could not be asked and no usable stale verdict is held.
    public func verdict(for key: VerdictKey) async throws -> (Verdict, Origin) {
        let now = clock()
        enum Lookup {
            case hit(Verdict)
            case ask(Task<Verdict, Error>, epoch: Int)
        }
        let lookup: Lookup = state.withLockedValue { state in
            if let entry = state.entries.get(key), entry.expires > now { return .hit(entry.verdict) }
            state.waiting += 1
            if let asked = state.inflight[key] { return .ask(asked.task, epoch: asked.epoch) }
            let task = Task { [fetch] in try await fetch(key) }
            state.inflight[key] = (task, state.epoch)
            return .ask(task, epoch: state.epoch)
        }
        switch lookup {
        case .hit(let verdict):
            metrics?.cacheHits.increment()
            return (verdict, .hit)
        case .ask(let task, let epoch):
            defer { state.withLockedValue { $0.waiting -= 1 } }
            do {
                let verdict = try await task.value
                let evicted = state.withLockedValue { state -> Bool in
                    if state.inflight[key]?.task == task { state.inflight[key] = nil }
                    guard state.epoch == epoch, verdict.ttl > 0 else { return false }
                    let entry = Entry(verdict: verdict, expires: clock() + .seconds(Int64(min(verdict.ttl, Self.maxTTL))))
                    return state.entries.set(key, entry) != nil
                }
                if evicted { metrics?.cacheEvictions.increment() }
                metrics?.cacheMisses.increment()
                return (verdict, .miss)
            } catch {
                let stale = state.withLockedValue { state -> Verdict? in
                    if state.inflight[key]?.task == task { state.inflight[key] = nil }
                    guard staleMaxAge > .zero, Self.mayServeStale(after: error), let entry = state.entries.peek(key) else { return nil }
                    return clock() - entry.expires <= staleMaxAge ? entry.verdict : nil
                }
                if let stale {
                    metrics?.cacheStale.increment()
                    return (stale, .stale)
                }
                metrics?.cacheMisses.increment()
                throw error
            }
        }
    }

    /// Whether a stale verdict may stand in after `error`: only when the
    /// service could not be asked. What the service answered itself is
    /// obeyed, failing closed (`DecisionServiceAnswer`).
    static func mayServeStale(after error: Error) -> Bool {
        (error as? DecisionServiceAnswer)?.isRefusal != true
    }

    /// Forgets every verdict, and keeps answers already being asked from
    /// being stored when they arrive.
    public func invalidateAll() {
        let dropped = state.withLockedValue { state in
            defer {
                state.entries.removeAll()
                state.inflight.removeAll()
                state.epoch += 1
            }
            return state.entries.count
        }
        metrics?.cacheInvalidations.increment()
        metrics?.cacheDropped.increment(by: Int64(dropped))
    }
}
