/// How long a lint may run: a policy set sent to a service is work done on
/// behalf of whoever sent it, and must end when its time is up or when the
/// one who asked has gone (its task is cancelled).
public struct LintBudget: Sendable {
    /// Thrown by `Linter.lint(_:within:)` when the budget ran out first.
    public struct Exhausted: Error, Sendable, CustomStringConvertible {
        public let cancelled: Bool
        public var description: String {
            cancelled ? "the policy check was cancelled" : "the policy check did not finish in its time"
        }
    }

    public static let unlimited = LintBudget(deadline: nil)

    public let deadline: ContinuousClock.Instant?

    public init(deadline: ContinuousClock.Instant?) {
        self.deadline = deadline
    }

    public init(seconds: Double) {
        deadline = .now + .milliseconds(Int64(seconds * 1000))
    }

    /// Whether the time is up or the task was cancelled.
    public var isExhausted: Bool {
        if Task.isCancelled { return true }
        guard let deadline else { return false }
        return ContinuousClock.now >= deadline
    }

    func check() throws(Exhausted) {
        if Task.isCancelled { throw Exhausted(cancelled: true) }
        if let deadline, ContinuousClock.now >= deadline { throw Exhausted(cancelled: false) }
    }
}
