import Foundation

/// Runs blocking work (a child process, a file poll) on a thread of its own
/// and awaits it. A test that blocked in place would hold one of the few
/// threads Swift concurrency runs every test on (one per core): on a 2-core
/// machine two such tests stalled every other test for seconds, and a
/// decision that had long arrived waited 30 s for a thread to read it.
public func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}

/// Sleeps without holding a thread: `Thread.sleep` would, for the reason above.
public func pause(_ seconds: Double) async {
    try? await Task.sleep(for: .seconds(seconds))
}
