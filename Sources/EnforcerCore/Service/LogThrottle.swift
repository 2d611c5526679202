import NIOConcurrencyHelpers
import NIOCore

/// Lets through a warning that workloads can cause at will at most once per
/// `interval` for each kind, and counts the ones held back. Without it, a
/// workload that opens refused connections in a loop, or any workload while
/// DNS or the decision service is down, fills the log with one line per
/// connection. Each of those connections is still counted in the metrics
/// and recorded in the audit trail.
public final class LogThrottle: Sendable {
    private struct Entry {
        var next: NIODeadline
        var heldBack: Int
    }

    public let interval: TimeAmount
    private let entries = NIOLockedValueBox<[String: Entry]>([:])

    public init(interval: TimeAmount = .seconds(10)) {
        self.interval = interval
    }

    /// `nil` when this one is held back; otherwise how many of its kind were
    /// held back since the last one let through.
    public func admit(_ kind: String, now: NIODeadline = .now()) -> Int? {
        entries.withLockedValue { entries in
            if var entry = entries[kind], now < entry.next {
                entry.heldBack += 1
                entries[kind] = entry
                return nil
            }
            let heldBack = entries[kind]?.heldBack ?? 0
            entries[kind] = Entry(next: now + interval, heldBack: 0)
            return heldBack
        }
    }
}
