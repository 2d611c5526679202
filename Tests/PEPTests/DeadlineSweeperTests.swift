import NIOCore
import NIOPosix
import Testing

@testable import EnforcerCore
@testable import PEP

/// The sweeper on a real event loop with a 20 ms tick.
@Suite struct DeadlineSweeperTests {
    /// A limit that expires at `deadline`, noting when it was found expired.
    final class Limit: SweptHandler {
        var sweepIndex: Int?
        let name: String
        let deadline: NIODeadline
        var expiredAt: NIODeadline?
        var checksAfterExpiry = 0
        var onSweep: (() -> Void)?

        init(_ name: String, in delay: TimeAmount) {
            self.name = name
            deadline = .now() + delay
        }

        func sweep(now: NIODeadline) -> Bool {
            onSweep?()
            if expiredAt != nil { checksAfterExpiry += 1 }
            guard now >= deadline else { return true }
            expiredAt = expiredAt ?? now
            return false
        }
    }

    struct Fixture {
        let sweeper: DeadlineSweeper
        let limits: [String: Limit]
    }

    /// One loop for each test: the sweeper and its handlers belong to it.
    let loop = MultiThreadedEventLoopGroup.singleton.next()

    private func onLoop<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await loop.submit(body).get()
    }

    /// A sweeper with a 20 ms tick, made on the loop with a limit per
    /// (name, delay), added in that order; `then` runs there after.
    private func sweeping(
        _ delays: [(String, TimeAmount)], then: @escaping @Sendable (Fixture) -> Void = { _ in }
    ) async throws -> NIOLoopBound<Fixture> {
        let loop = self.loop
        return try await onLoop {
            let sweeper = DeadlineSweeper(eventLoop: loop, tick: .milliseconds(20))
            var limits: [String: Limit] = [:]
            for (name, delay) in delays {
                let limit = Limit(name, in: delay)
                limits[name] = limit
                sweeper.add(limit)
            }
            let fixture = Fixture(sweeper: sweeper, limits: limits)
            then(fixture)
            return NIOLoopBound(fixture, eventLoop: loop)
        }
    }

    /// The names of the limits found expired, and how many are still tracked.
    private func expiredAndTracked(_ fixture: NIOLoopBound<Fixture>) async throws -> (expired: [String], tracked: Int) {
        try await onLoop {
            let fixture = fixture.value
            return (fixture.limits.filter { $0.value.expiredAt != nil }.keys.sorted(), fixture.sweeper.count)
        }
    }

    @Test func expiresEachLimitWithinATickOfItsDeadlineAndNoSooner() async throws {
        let fixture = try await sweeping([
            ("a", .milliseconds(60)), ("b", .milliseconds(300)), ("c", .milliseconds(120)), ("d", .seconds(60)),
        ])
        try await Task.sleep(for: .milliseconds(700))
        let report = try await onLoop { () -> [String] in
            let fixture = fixture.value
            var lines: [String] = []
            for (name, limit) in fixture.limits.sorted(by: { $0.key < $1.key }) {
                guard let expiredAt = limit.expiredAt else {
                    lines.append("\(name): open")
                    continue
                }
                let late = (expiredAt - limit.deadline).nanoseconds
                // At or after the deadline, and within one tick of it plus
                // generous slack for a loaded two-core machine.
                lines.append("\(name): expired \(late >= 0 && late < 200_000_000 ? "on time" : "\(late / 1_000_000) ms late"), checked after: \(limit.checksAfterExpiry)")
            }
            lines.append("tracked: \(fixture.sweeper.count)")
            return lines
        }
        #expect(
            report == [
                "a: expired on time, checked after: 0", "b: expired on time, checked after: 0",
                "c: expired on time, checked after: 0", "d: open", "tracked: 1",
            ])
    }

    @Test func aRemovedLimitNeverExpiresAndTheOthersStillDo() async throws {
        let loop = self.loop
        let fixture = try await sweeping([("first", .milliseconds(100)), ("middle", .milliseconds(100)), ("last", .milliseconds(100))]) {
            // The middle one goes: the last one moves into its place.
            $0.sweeper.remove($0.limits["middle"]!)
            $0.sweeper.remove($0.limits["middle"]!)
        }
        try await Task.sleep(for: .milliseconds(400))
        let (expired, tracked) = try await expiredAndTracked(fixture)
        #expect(expired == ["first", "last"])
        #expect(tracked == 0)
        // With nothing to check, the timer has stopped; a new limit starts it.
        let ticking = try await onLoop { fixture.value.sweeper.isTicking }
        #expect(!ticking)
        let late = try await onLoop {
            let limit = Limit("late", in: .milliseconds(50))
            fixture.value.sweeper.add(limit)
            return NIOLoopBound(limit, eventLoop: loop)
        }
        try await Task.sleep(for: .milliseconds(400))
        let lateExpired = try await onLoop { late.value.expiredAt != nil }
        #expect(lateExpired)
    }

    /// A sweep that closes a connection may remove another handler (or
    /// itself) while the pass is under way.
    @Test func removalsDuringAPassLoseNoOtherLimit() async throws {
        let fixture = try await sweeping((0..<6).map { ("\($0)", .milliseconds($0 < 3 ? 50 : 200)) }) { fixture in
            // Expiring, 0 removes 4 (not expired yet) and 1 removes itself.
            let (sweeper, zero, one, four) = (fixture.sweeper, fixture.limits["0"]!, fixture.limits["1"]!, fixture.limits["4"]!)
            zero.onSweep = { [unowned sweeper, unowned zero, unowned four] in
                if NIODeadline.now() >= zero.deadline { sweeper.remove(four) }
            }
            one.onSweep = { [unowned sweeper, unowned one] in
                if NIODeadline.now() >= one.deadline { sweeper.remove(one) }
            }
        }
        try await Task.sleep(for: .milliseconds(600))
        let (expired, tracked) = try await expiredAndTracked(fixture)
        // 4 was removed before its deadline: it is never found expired.
        #expect(expired == ["0", "1", "2", "3", "5"])
        #expect(tracked == 0)
    }

    @Test func tickIsAQuarterOfTheShortestLimitWithin10msAnd1s() {
        #expect(DeadlineSweeper.tick(for: [.seconds(10), .seconds(300)]) == .seconds(1))
        #expect(DeadlineSweeper.tick(for: [.seconds(1), .seconds(300)]) == .milliseconds(250))
        #expect(DeadlineSweeper.tick(for: [.milliseconds(20)]) == .milliseconds(10))
    }
}
