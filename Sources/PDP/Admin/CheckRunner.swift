import Hummingbird
import NIOPosix
import PolicyLang
import Synchronization

/// Runs the admin API's long checks (validate, new revisions, audit
/// verification): on a thread of their own, one at a time with a short
/// queue, within a time budget where one applies, and cancelled when the
/// client goes away or the service stops.
///
/// Each is work a viewer token can ask for. Run inline, two large policy
/// checks took both cores of the service's threads: `/healthz` stopped
/// answering for half a minute and the work went on after the client had
/// gone. A verification of a long trail is the same kind of work.
final class CheckRunner: Sendable {
    struct Limits: Sendable {
        /// Policy files per request, at most (413 past it).
        var maxFiles = 5000
        /// Time one check may take (422 past it).
        var timeout: Duration = .seconds(10)
        /// Checks waiting for the thread, at most (503 past it).
        var maxWaiting = 2
    }

    let limits: Limits
    private let pool = NIOThreadPool(numberOfThreads: 1)
    /// Checks running or waiting.
    private let queued = Atomic<Int>(0)
    /// Set when the service stops: every check ends at its next budget check.
    private let stopping = Atomic<Bool>(false)
    private let metrics: PDPMetrics

    init(limits: Limits = Limits(), metrics: PDPMetrics) {
        self.limits = limits
        self.metrics = metrics
        pool.start()
    }

    /// Refuses more files than a check takes.
    func checkSize(files: Int) throws {
        guard files <= limits.maxFiles else {
            metrics.policyChecksRefused.increment()
            throw AdminError(.contentTooLarge, "at most \(limits.maxFiles) policy files per request, got \(files)")
        }
    }

    /// Runs `work` on the check thread with a budget that ends at the time
    /// limit (`limits.timeout`; none with `timed: false`), when `clientGone`
    /// turns true, or when the service stops.
    func run<T: Sendable>(
        timed: Bool = true, clientGone: @escaping @Sendable () -> Bool, _ work: @escaping @Sendable (LintBudget) throws -> T
    ) async throws -> T {
        guard queued.add(1, ordering: .relaxed).newValue <= limits.maxWaiting + 1 else {
            queued.subtract(1, ordering: .relaxed)
            metrics.policyChecksRefused.increment()
            throw AdminError(.serviceUnavailable, "other checks are running; try again in a few seconds")
        }
        defer { queued.subtract(1, ordering: .relaxed) }
        let cancelled = AtomicFlag()
        let timeout = limits.timeout
        do {
            return try await withTaskCancellationHandler {
                try await pool.runIfActive { [self] in
                    // From when it runs, not from when it queued.
                    let budget = LintBudget(deadline: timed ? .now + timeout : nil) {
                        cancelled.value || clientGone() || self.stopping.load(ordering: .relaxed)
                    }
                    try budget.check()
                    return try work(budget)
                }
            } onCancel: {
                cancelled.set()
            }
        } catch let exhausted as LintBudget.Exhausted {
            metrics.policyChecksRefused.increment()
            if exhausted.cancelled { throw AdminError(.serviceUnavailable, "the check was cancelled") }
            throw AdminError(
                .unprocessableContent,
                "the policy set could not be checked within \(timeout) (too many rules, or too many that overlap); nothing was stored")
        }
    }

    /// Ends running checks at their next budget check, and refuses new ones.
    func stopChecks() { stopping.store(true, ordering: .relaxed) }

    /// Ends running checks and the thread.
    func shutdown() async {
        stopChecks()
        try? await pool.shutdownGracefully()
    }
}
