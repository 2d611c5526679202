import NIOConcurrencyHelpers

/// Requests accepted but not yet answered, for a graceful drain.
final class InFlightCounter: Sendable {
    private let count = NIOLockedValueBox(0)
    func enter() { count.withLockedValue { $0 += 1 } }
    func leave() { count.withLockedValue { $0 -= 1 } }
    var value: Int { count.withLockedValue { $0 } }
}
