import Synchronization

/// A count that every event loop adds to and that must stay under a limit:
/// the bytes of request bodies held, the audit records not yet written. It
/// is an atomic rather than a lock because every request passes through it,
/// and a lock shared by the event loops was waited on hundreds of times a
/// second under load (perf, futex counts).
final class BoundedCount: Sendable {
    private let value = Atomic<Int>(0)
    let limit: Int
    /// Whether the limit is checked before a reservation rather than after
    /// it: then one batch may carry the count past the limit, as a single
    /// item would not, instead of being refused for its size alone.
    private let batchesMayOvershoot: Bool

    init(limit: Int, batchesMayOvershoot: Bool = false) {
        self.limit = limit
        self.batchesMayOvershoot = batchesMayOvershoot
    }

    var current: Int { value.load(ordering: .relaxed) }

    /// Adds `count` if it fits; `false`, and nothing added, otherwise.
    func reserve(_ count: Int) -> Bool {
        var current = value.load(ordering: .relaxed)
        while true {
            let fits = batchesMayOvershoot ? current < limit : current + count <= limit
            guard fits || count == 0 else { return false }
            let (exchanged, original) = value.compareExchange(expected: current, desired: current + count, ordering: .relaxed)
            if exchanged { return true }
            current = original
        }
    }

    /// Gives `count` back; returns what is left.
    @discardableResult
    func release(_ count: Int) -> Int {
        guard count > 0 else { return current }
        return value.subtract(count, ordering: .relaxed).newValue
    }
}
