import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing

@testable import EnforcerCore
@testable import PEP

/// The resolver's deadline and bound, with the real getaddrinfo looking up
/// `localhost` (from /etc/hosts). A slow DNS server is played by the pool's
/// only thread being busy: a lookup queued behind it cannot start.
@Suite struct NameResolverTests {
    /// Occupies the pool's thread until `release()`.
    final class Blocker: Sendable {
        private let gate = ConditionLock(value: 0)
        func hold(_ pool: NIOThreadPool) {
            Task {
                try? await pool.runIfActive { [gate] in
                    gate.lock(whenValue: 1)
                    gate.unlock()
                }
            }
        }
        func release() {
            gate.lock()
            gate.unlock(withValue: 1)
        }
    }

    @Test func aConnectionWaitsAtMostTheTimeoutAndALateAnswerIsStillKept() async throws {
        let pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
        let blocker = Blocker()
        blocker.hold(pool)
        let resolver = NameResolver(pool: pool, cacheTTL: .seconds(60), timeout: .milliseconds(100))
        // The pool's thread stays busy until released below: without the
        // deadline this would wait for it. (No wall-clock bound is checked:
        // under a loaded test run the timer itself may run late.)
        await #expect(throws: NameResolver.Timeout.self) { try await resolver.resolve("localhost", port: 443) }
        #expect(resolver.cached("localhost", port: 443) == nil)
        // The lookup goes on once the thread is free, and its answer serves
        // the next connection without a lookup.
        blocker.release()
        var cached: [SocketAddress]?
        for _ in 0..<200 where cached == nil {
            try await Task.sleep(for: .milliseconds(10))
            cached = resolver.cached("localhost", port: 443)
        }
        #expect(cached?.first?.ipAddress == "127.0.0.1")
        #expect(cached?.first?.port == 443)
        try await pool.shutdownGracefully()
    }

    @Test func pastTheBoundANewNameIsRefusedAtOnce() async throws {
        let pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
        let blocker = Blocker()
        blocker.hold(pool)
        let resolver = NameResolver(pool: pool, cacheTTL: .seconds(60), timeout: .milliseconds(100), maxPending: 1)
        await #expect(throws: NameResolver.Timeout.self) { try await resolver.resolve("localhost", port: 443) }
        // Still pending: another name is refused without a lookup...
        await #expect(throws: NameResolver.Busy.self) { try await resolver.resolve("ip6-localhost", port: 443) }
        // ...while the same name joins the lookup under way.
        await #expect(throws: NameResolver.Timeout.self) { try await resolver.resolve("localhost", port: 443) }
        blocker.release()
        try await pool.shutdownGracefully()
    }
}
