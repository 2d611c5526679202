import NIOCore
import Testing

@testable import EnforcerCore

/// The client's connection life on its own, with strings for connections
/// and connects and a clock that does not move unless told.
struct PDPConnectionStateTests {
    typealias State = PDPConnectionState<String, String>
    let start = NIODeadline.uptimeNanoseconds(1_000_000_000)

    @Test func oneConnectAtATimeThenTheConnectionIsShared() {
        var state = State()
        guard case .connect = state.next(now: start, isOpen: { _ in true }) else { Issue.record("expected a connect"); return }
        state.connecting("connect-1")
        guard case .join("connect-1") = state.next(now: start, isOpen: { _ in true }) else { Issue.record("expected to join"); return }
        state.connected("conn-1")
        guard case .ready("conn-1") = state.next(now: start, isOpen: { _ in true }) else { Issue.record("expected ready"); return }
        // A closed connection is not handed out: a new connect starts.
        guard case .connect = state.next(now: start, isOpen: { _ in false }) else { Issue.record("expected a connect"); return }
    }

    @Test func failedConnectsBackOffDoublingUpToFiveSeconds() {
        var state = State()
        var delays: [Int64] = []
        var now = start
        for attempt in 1...9 {
            guard case .connect = state.next(now: now, isOpen: { _ in true }) else {
                Issue.record("attempt \(attempt) should connect")
                return
            }
            state.connecting("c\(attempt)")
            let delay = state.connectFailed("refused \(attempt)", now: now)
            delays.append(delay.nanoseconds / 1_000_000)
            // Until the delay has passed, requests fail at once with the last error.
            guard case .backingOff(let error) = state.next(now: now + delay - .milliseconds(1), isOpen: { _ in true }) else {
                Issue.record("attempt \(attempt) should back off")
                return
            }
            #expect(error == "refused \(attempt)")
            now = now + delay
        }
        #expect(delays == [100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000])
        state.connected("conn")
        #expect(state.failures == 0)
        // After a success the next failure starts again from the first delay.
        _ = state.take()
        let first = state.connectFailed("again", now: now)
        #expect(first == .milliseconds(100))
    }

    @Test func twoSilentRequestsInARowDropTheConnectionAndAnAnswerResetsTheCount() {
        var state = State()
        state.connected("conn")
        var drops: [Bool] = []
        drops.append(state.requestTimedOut())
        state.answered()
        drops.append(state.requestTimedOut())
        drops.append(state.requestTimedOut())
        // A new connection starts with a clean count.
        state.connected("conn-2")
        drops.append(state.requestTimedOut())
        #expect(drops == [false, false, true, false])
    }

    @Test func onlyTheHeldConnectionIsForgottenWhenOneCloses() {
        var state = State()
        state.connected("new")
        state.closed(isThis: { $0 == "old" })
        #expect(state.connection == "new")
        state.closed(isThis: { $0 == "new" })
        #expect(state.connection == nil)
        state.connected("again")
        let taken = state.take()
        #expect(taken == "again")
        #expect(state.connection == nil)
    }
}
