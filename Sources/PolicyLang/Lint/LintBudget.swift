/// How long a lint may run: a policy set sent to a service is work done on
/// behalf of whoever sent it, and must end when its time is up or when the
/// one who asked has gone (its task is cancelled).
public struct LintBudget: Sendable {
    /// Thrown by `Linter.lint(_:within:)` when the budget ran out first.
    public struct Exhausted: Error, Sendable, CustomStringConvertible {
        public let cancelled: Bool
        public init(cancelled: Bool) { self.cancelled = cancelled }
        public var description: String {
            cancelled ? "the policy check was cancelled" : "the policy check did not finish in its time"
        }
    }

    public static let unlimited = LintBudget(deadline: nil)

    public let deadline: ContinuousClock.Instant?
    /// Asked as well as `Task.isCancelled`, for work that runs outside the
    /// task that waits for it (on a thread of its own).
    public let isCancelled: (@Sendable () -> Bool)?

    public init(deadline: ContinuousClock.Instant?, isCancelled: (@Sendable () -> Bool)? = nil) {
        self.deadline = deadline
        self.isCancelled = isCancelled
    }

    private var cancelled: Bool { Task.isCancelled || isCancelled?() == true }

    /// Whether the time is up or the work was cancelled.
    public var isExhausted: Bool {
        if cancelled { return true }
        guard let deadline else { return false }
        return ContinuousClock.now >= deadline
    }

    public func check() throws(Exhausted) {
        if cancelled { throw Exhausted(cancelled: true) }
        if let deadline, ContinuousClock.now >= deadline { throw Exhausted(cancelled: false) }
    }
}
