import NIOCore
import NIOEmbedded
import Testing

@testable import EnforcerCore
@testable import PEP

/// The sweeper on an embedded event loop with a 20 ms tick: time moves only
/// when the test moves it, so every deadline is checked to the tick.
@Suite struct DeadlineSweeperTests {
    /// A limit that expires at `deadline`, noting when it was found expired.
    final class Limit: SweptHandler {
        var sweepIndex: Int?
        let name: String
        let deadline: NIODeadline
        var expiredAt: NIODeadline?
        var checksAfterExpiry = 0
        var onSweep: ((NIODeadline) -> Void)?

        init(_ name: String, expiring deadline: NIODeadline) {
            self.name = name
            self.deadline = deadline
        }

        func sweep(now: NIODeadline) -> Bool {
            onSweep?(now)
            if expiredAt != nil { checksAfterExpiry += 1 }
            guard now >= deadline else { return true }
            expiredAt = expiredAt ?? now
            return false
        }
    }

    static let tick = TimeAmount.milliseconds(20)
    let loop = EmbeddedEventLoop()
    let sweeper: DeadlineSweeper

    init() {
        sweeper = DeadlineSweeper(eventLoop: loop, tick: Self.tick)
    }

    /// A limit per (name, delay from now), added in that order.
    private func add(_ delays: [(String, TimeAmount)]) -> [String: Limit] {
        var limits: [String: Limit] = [:]
        for (name, delay) in delays {
            let limit = Limit(name, expiring: loop.now + delay)
            limits[name] = limit
            sweeper.add(limit)
        }
        return limits
    }

    private func expired(_ limits: [String: Limit]) -> [String] {
        limits.filter { $0.value.expiredAt != nil }.keys.sorted()
    }

    @Test func expiresEachLimitWithinATickOfItsDeadlineAndNoSooner() {
        let limits = add([("a", .milliseconds(60)), ("b", .milliseconds(300)), ("c", .milliseconds(130)), ("d", .seconds(60))])
        loop.advanceTime(by: .milliseconds(129))
        #expect(expired(limits) == ["a"])
        loop.advanceTime(by: .milliseconds(571))
        #expect(expired(limits) == ["a", "b", "c"])
        for name in ["a", "b", "c"] {
            let limit = limits[name]!
            let late = limit.expiredAt! - limit.deadline
            #expect(late >= .zero && late < Self.tick, "\(name) expired \(late.nanoseconds / 1_000_000) ms after its deadline")
            #expect(limit.checksAfterExpiry == 0, "an expired limit is no longer checked")
        }
        #expect(sweeper.count == 1)
    }

    @Test func aRemovedLimitNeverExpiresAndTheOthersStillDo() {
        let limits = add([("first", .milliseconds(100)), ("middle", .milliseconds(100)), ("last", .milliseconds(100))])
        // The middle one goes (twice: the second is a no-op); the last one moves into its place.
        sweeper.remove(limits["middle"]!)
        sweeper.remove(limits["middle"]!)
        loop.advanceTime(by: .milliseconds(400))
        #expect(expired(limits) == ["first", "last"])
        #expect(sweeper.count == 0)
        // With nothing to check, the timer has stopped; a new limit starts it.
        #expect(!sweeper.isTicking)
        let late = add([("late", .milliseconds(50))])
        #expect(sweeper.isTicking)
        loop.advanceTime(by: .milliseconds(100))
        #expect(expired(late) == ["late"])
    }

    /// A sweep that closes a connection may remove another handler (or
    /// itself) while the pass is under way.
    @Test func removalsDuringAPassLoseNoOtherLimit() {
        let limits = add((0..<6).map { ("\($0)", .milliseconds($0 < 3 ? 50 : 200)) })
        let (sweeper, zero, one, four) = (self.sweeper, limits["0"]!, limits["1"]!, limits["4"]!)
        // Expiring, 0 removes 4 (not expired yet) and 1 removes itself.
        zero.onSweep = { [unowned sweeper, unowned zero, unowned four] now in
            if now >= zero.deadline { sweeper.remove(four) }
        }
        one.onSweep = { [unowned sweeper, unowned one] now in
            if now >= one.deadline { sweeper.remove(one) }
        }
        loop.advanceTime(by: .milliseconds(600))
        // 4 was removed before its deadline: it is never found expired.
        #expect(expired(limits) == ["0", "1", "2", "3", "5"])
        #expect(sweeper.count == 0)
    }

    @Test func tickIsAQuarterOfTheShortestLimitWithin10msAnd1s() {
        #expect(DeadlineSweeper.tick(for: [.seconds(10), .seconds(300)]) == .seconds(1))
        #expect(DeadlineSweeper.tick(for: [.seconds(1), .seconds(300)]) == .milliseconds(250))
        #expect(DeadlineSweeper.tick(for: [.milliseconds(20)]) == .milliseconds(10))
    }
}
