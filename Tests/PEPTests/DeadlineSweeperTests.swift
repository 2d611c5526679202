import NIOCore
import NIOPosix
import Testing

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

    @Test func expiresEachLimitWithinATickOfItsDeadlineAndNoSooner() async throws {
        let loop = self.loop
        let fixture = try await onLoop {
            let sweeper = DeadlineSweeper(eventLoop: loop, tick: .milliseconds(20))
            let limits = [
                "a": Limit("a", in: .milliseconds(60)), "b": Limit("b", in: .milliseconds(300)),
                "c": Limit("c", in: .milliseconds(120)), "d": Limit("d", in: .seconds(60)),
            ]
            for name in ["a", "b", "c", "d"] { sweeper.add(limits[name]!) }
            return NIOLoopBound(Fixture(sweeper: sweeper, limits: limits), eventLoop: loop)
        }
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
        let fixture = try await onLoop {
            let sweeper = DeadlineSweeper(eventLoop: loop, tick: .milliseconds(20))
            let limits = [
                "first": Limit("first", in: .milliseconds(100)), "middle": Limit("middle", in: .milliseconds(100)),
                "last": Limit("last", in: .milliseconds(100)),
            ]
            for name in ["first", "middle", "last"] { sweeper.add(limits[name]!) }
            // The middle one goes: the last one moves into its place.
            sweeper.remove(limits["middle"]!)
            sweeper.remove(limits["middle"]!)
            return NIOLoopBound(Fixture(sweeper: sweeper, limits: limits), eventLoop: loop)
        }
        try await Task.sleep(for: .milliseconds(400))
        let (expired, tracked) = try await onLoop {
            let fixture = fixture.value
            return (fixture.limits.filter { $0.value.expiredAt != nil }.keys.sorted(), fixture.sweeper.count)
        }
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
        let loop = self.loop
        let fixture = try await onLoop {
            let sweeper = DeadlineSweeper(eventLoop: loop, tick: .milliseconds(20))
            var limits: [String: Limit] = [:]
            for index in 0..<6 { limits["\(index)"] = Limit("\(index)", in: .milliseconds(index < 3 ? 50 : 200)) }
            for index in 0..<6 { sweeper.add(limits["\(index)"]!) }
            // Expiring, 0 removes 4 (not expired yet) and 1 removes itself.
            let (zero, one, four) = (limits["0"]!, limits["1"]!, limits["4"]!)
            zero.onSweep = { [unowned sweeper, unowned zero, unowned four] in
                if NIODeadline.now() >= zero.deadline { sweeper.remove(four) }
            }
            one.onSweep = { [unowned sweeper, unowned one] in
                if NIODeadline.now() >= one.deadline { sweeper.remove(one) }
            }
            return NIOLoopBound(Fixture(sweeper: sweeper, limits: limits), eventLoop: loop)
        }
        try await Task.sleep(for: .milliseconds(600))
        let (expired, tracked) = try await onLoop {
            let fixture = fixture.value
            return (fixture.limits.filter { $0.value.expiredAt != nil }.keys.sorted(), fixture.sweeper.count)
        }
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
