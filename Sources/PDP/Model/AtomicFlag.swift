import Synchronization

/// A flag one side sets once and another reads from any thread: a client
/// gone, a task cancelled.
final class AtomicFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    var value: Bool { flag.load(ordering: .relaxed) }
    func set() { flag.store(true, ordering: .relaxed) }
}
