import NIOConcurrencyHelpers
import NIOCore
import Testing

@testable import EnforcerCore
@testable import PEP

/// The cache on its own, with the fetch given as a plain function (the
/// decision service itself is exercised in PDPTests/PEPClientTests).
@Suite struct VerdictCacheTests {
    let key = VerdictKey(sourceIP: "198.18.1.2", host: "api.example.com", port: 443)

    /// A clock the test moves by hand: TTLs and stale windows pass at once,
    /// whatever else the machine is doing.
    final class ManualClock: Sendable {
        private let time = NIOLockedValueBox(NIODeadline.uptimeNanoseconds(1_000_000_000))
        func now() -> NIODeadline { time.withLockedValue { $0 } }
        func advance(_ amount: TimeAmount) { time.withLockedValue { $0 = $0 + amount } }
    }

    /// A fetch in flight for as long as the test wants: no timing involved.
    final class HeldFetch: Sendable {
        private let started = AsyncStream<Void>.makeStream()
        private let released = AsyncStream<Void>.makeStream()
        func hold() async {
            started.continuation.yield()
            for await _ in released.stream { break }
        }
        func waitUntilStarted() async {
            for await _ in started.stream { break }
        }
        func release() {
            released.continuation.yield()
        }
    }

    final class Fetches: Sendable {
        let count = NIOLockedValueBox(0)
        let failing = NIOLockedValueBox(false)
        /// When set, a failing fetch is answered with this status instead of being unreachable.
        let refusal = NIOLockedValueBox<Int?>(nil)
        /// When set, a failing fetch ends in a TLS alert from the service.
        let tlsAlert = NIOLockedValueBox(false)
        let ttl: Int
        /// When set, the first fetch says it has started and waits for its release.
        let held: HeldFetch?
        init(ttl: Int = 60, holdingTheFirst: Bool = false) {
            self.ttl = ttl
            held = holdingTheFirst ? HeldFetch() : nil
        }
        func fetch(_ key: VerdictKey) async throws -> Verdict {
            let n = count.withLockedValue { n in
                n += 1
                return n
            }
            if n == 1, let held { await held.hold() }
            if failing.withLockedValue({ $0 }) {
                if let status = refusal.withLockedValue({ $0 }) { throw DecisionClient.Refused(status: status, message: "refused") }
                if tlsAlert.withLockedValue({ $0 }) { throw PDPClient.Rejected(description: "SSLV3_ALERT_BAD_CERTIFICATE") }
                throw PDPClient.Unavailable(description: "down")
            }
            return Verdict(allow: key.host.hasPrefix("api"), rule: "r.egress:\(n)", name: nil, revision: 1, ttl: ttl)
        }
    }

    @Test func aHitDoesNotAskAgain() async throws {
        let fetches = Fetches()
        let cache = VerdictCache(capacity: 10, fetch: fetches.fetch)
        let (first, o1) = try await cache.verdict(for: key)
        let (second, o2) = try await cache.verdict(for: key)
        #expect(o1 == .miss && o2 == .hit)
        #expect(first == second && first.allow)
        #expect(fetches.count.withLockedValue { $0 } == 1)
        // Another port is another key.
        _ = try await cache.verdict(for: VerdictKey(sourceIP: key.sourceIP, host: key.host, port: 8443))
        #expect(fetches.count.withLockedValue { $0 } == 2)
    }

    @Test func concurrentMissesMakeOneRequest() async throws {
        let fetches = Fetches(holdingTheFirst: true)
        let cache = VerdictCache(capacity: 10, fetch: fetches.fetch)
        let origins = try await withThrowingTaskGroup(of: VerdictCache.Origin.self) { group in
            for _ in 0..<100 { group.addTask { try await cache.verdict(for: key).1 } }
            // Released only once every lookup waits on the one request.
            await fetches.held?.waitUntilStarted()
            while cache.waitingLookups < 100 { await Task.yield() }
            fetches.held?.release()
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(origins.count == 100 && origins.allSatisfy { $0 == .miss })
        #expect(fetches.count.withLockedValue { $0 } == 1)
        #expect(cache.waitingLookups == 0)
    }

    @Test func aVerdictExpiresAfterItsTTL() async throws {
        let fetches = Fetches(ttl: 1)
        let clock = ManualClock()
        let cache = VerdictCache(capacity: 10, now: clock.now, fetch: fetches.fetch)
        _ = try await cache.verdict(for: key)
        clock.advance(.milliseconds(999))
        #expect(try await cache.verdict(for: key).1 == .hit)
        clock.advance(.milliseconds(2))
        #expect(try await cache.verdict(for: key).1 == .miss)
        #expect(fetches.count.withLockedValue { $0 } == 2)
    }

    @Test func aZeroTTLIsNeverCached() async throws {
        let fetches = Fetches(ttl: 0)
        let cache = VerdictCache(capacity: 10, fetch: fetches.fetch)
        _ = try await cache.verdict(for: key)
        _ = try await cache.verdict(for: key)
        #expect(fetches.count.withLockedValue { $0 } == 2)
        #expect(cache.count == 0)
    }

    @Test func boundedWithLeastRecentlyUsedEviction() async throws {
        let fetches = Fetches()
        let cache = VerdictCache(capacity: 3, fetch: fetches.fetch)
        func k(_ host: String) -> VerdictKey { VerdictKey(sourceIP: "198.18.1.2", host: host, port: 443) }
        for host in ["a", "b", "c"] { _ = try await cache.verdict(for: k(host)) }
        _ = try await cache.verdict(for: k("a"))  // a is recent now
        _ = try await cache.verdict(for: k("d"))  // evicts b
        #expect(cache.count == 3)
        #expect(try await cache.verdict(for: k("a")).1 == .hit)
        #expect(try await cache.verdict(for: k("b")).1 == .miss)
    }

    @Test func invalidationDropsEverythingAndAnswersInFlight() async throws {
        let fetches = Fetches(holdingTheFirst: true)
        let cache = VerdictCache(capacity: 10, fetch: fetches.fetch)
        // A request asked before an invalidation answers its caller but is not kept.
        async let answer = cache.verdict(for: key)
        await fetches.held?.waitUntilStarted()
        cache.invalidateAll()
        fetches.held?.release()
        #expect(try await answer.1 == .miss)
        #expect(cache.count == 0)
        #expect(try await cache.verdict(for: key).1 == .miss)
        #expect(cache.count == 1)
        cache.invalidateAll()
        #expect(cache.count == 0)
    }

    /// A lookup after an invalidation never joins a request asked before it:
    /// it asks again, and only the new answer is kept.
    @Test func aLookupAfterAnInvalidationDoesNotJoinAnOlderRequest() async throws {
        let fetches = Fetches(holdingTheFirst: true)
        let cache = VerdictCache(capacity: 10, fetch: fetches.fetch)
        async let first = cache.verdict(for: key)
        await fetches.held?.waitUntilStarted()
        cache.invalidateAll()
        let (second, _) = try await cache.verdict(for: key)
        fetches.held?.release()
        let (old, _) = try await first
        #expect(fetches.count.withLockedValue { $0 } == 2)
        #expect(old.rule == "r.egress:1")
        #expect(second.rule == "r.egress:2", "the second lookup asked after the invalidation")
        let (kept, origin) = try await cache.verdict(for: key)
        #expect(origin == .hit)
        #expect(kept.rule == "r.egress:2", "the cache holds the answer asked after the change")
    }

    @Test func failsClosedWithoutStaleAllowance() async throws {
        let fetches = Fetches(ttl: 1)
        let clock = ManualClock()
        let cache = VerdictCache(capacity: 10, now: clock.now, fetch: fetches.fetch)
        _ = try await cache.verdict(for: key)
        fetches.failing.withLockedValue { $0 = true }
        clock.advance(.milliseconds(1001))
        await #expect(throws: PDPClient.Unavailable.self) { try await cache.verdict(for: key) }
    }

    /// Stale verdicts stand in for a service that cannot be asked, never for
    /// one that answers no: a revoked token (401), a bad request, or a
    /// service that will not decide what it cannot record (503) fails closed
    /// at once; a gateway's 502 or 504 counts as unavailable.
    @Test func aRefusalIsNeverAnsweredWithAStaleVerdict() async throws {
        let fetches = Fetches(ttl: 1)
        let clock = ManualClock()
        let cache = VerdictCache(capacity: 10, staleMaxAge: .seconds(30), now: clock.now, fetch: fetches.fetch)
        let (fresh, _) = try await cache.verdict(for: key)
        #expect(fresh.allow)
        fetches.failing.withLockedValue { $0 = true }
        clock.advance(.milliseconds(1001))
        for status in [401, 403, 400, 503] {
            fetches.refusal.withLockedValue { $0 = status }
            await #expect(throws: DecisionClient.Refused.self, "status \(status)") { try await cache.verdict(for: key) }
        }
        // A client certificate the service refuses (a TLS alert).
        fetches.refusal.withLockedValue { $0 = nil }
        fetches.tlsAlert.withLockedValue { $0 = true }
        await #expect(throws: PDPClient.Rejected.self) { try await cache.verdict(for: key) }
        fetches.tlsAlert.withLockedValue { $0 = false }
        for status in [502, 504] {
            fetches.refusal.withLockedValue { $0 = status }
            let (stale, origin) = try await cache.verdict(for: key)
            #expect(origin == .stale, "status \(status)")
            #expect(stale == fresh)
        }
    }

    @Test func servesStaleVerdictsUpToTheMaximumAge() async throws {
        let fetches = Fetches(ttl: 1)
        let clock = ManualClock()
        let cache = VerdictCache(capacity: 10, staleMaxAge: .seconds(2), now: clock.now, fetch: fetches.fetch)
        let (fresh, _) = try await cache.verdict(for: key)
        fetches.failing.withLockedValue { $0 = true }
        // Expired (TTL 1 s), within the stale window (2 s past it).
        clock.advance(.milliseconds(2999))
        let (stale, origin) = try await cache.verdict(for: key)
        #expect(origin == .stale)
        #expect(stale == fresh)
        // Past the window by a millisecond.
        clock.advance(.milliseconds(2))
        await #expect(throws: PDPClient.Unavailable.self) { try await cache.verdict(for: key) }
        // An invalidated verdict is never served stale.
        fetches.failing.withLockedValue { $0 = false }
        _ = try await cache.verdict(for: key)
        cache.invalidateAll()
        fetches.failing.withLockedValue { $0 = true }
        await #expect(throws: PDPClient.Unavailable.self) { try await cache.verdict(for: key) }
    }
}
