import ConnectionLimits
import Testing

/// The connection cap, each source's share of it and the reset penalty, on
/// an injected clock.
struct ConnectionAdmissionTests {
    @Test func oneSourceCannotTakeEverySlot() {
        let admission = ConnectionAdmission(.init(maxConnections: 5, maxPerSource: 2))
        #expect(admission.admit("198.18.0.1") == nil)
        #expect(admission.admit("198.18.0.1") == nil)
        #expect(admission.admit("198.18.0.1") == .sourceShare)
        #expect(admission.admit("198.18.0.2") == nil)
        #expect(admission.admit("198.18.0.2") == nil)
        #expect(admission.admit("198.18.0.3") == nil)
        #expect(admission.admit("198.18.0.4") == .capacity)
        admission.release("198.18.0.1")
        #expect(admission.connections(of: "198.18.0.1") == 1)
        #expect(admission.admit("198.18.0.4") == nil)
        #expect(admission.openConnections == 5)
    }

    @Test func everyReleaseGivesItsSlotBack() {
        let admission = ConnectionAdmission(.init(maxConnections: 3, maxPerSource: 3))
        for _ in 0..<3 { #expect(admission.admit("a") == nil) }
        for _ in 0..<3 { admission.release("a") }
        #expect(admission.openConnections == 0)
        #expect(admission.connections(of: "a") == 0)
    }

    @Test func resetsAreCountedPerSourceAcrossConnectionsAndPunished() {
        let admission = ConnectionAdmission(.init(maxConnections: 10, maxPerSource: 10, maxResetsPerSource: 300, resetWindow: .seconds(10)))
        let start = ContinuousClock.now
        // A fresh connection every 150 resets does not escape the count.
        #expect(!admission.recordResets("a", count: 150, now: start))
        #expect(!admission.recordResets("a", count: 150, now: start + .seconds(1)))
        #expect(admission.recordResets("a", count: 1, now: start + .seconds(2)))
        #expect(admission.admit("a", now: start + .seconds(3)) == .resetPenalty)
        // Others are not touched, and the penalty ends.
        #expect(admission.admit("b", now: start + .seconds(3)) == nil)
        #expect(admission.admit("a", now: start + .seconds(13)) == nil)
        // A new window starts from zero.
        #expect(!admission.recordResets("a", count: 300, now: start + .seconds(30)))
    }

    @Test func noLimitMeansNoPenalty() {
        let admission = ConnectionAdmission(.init(maxConnections: 1, maxPerSource: 1))
        #expect(!admission.recordResets("a", count: 1_000_000))
        #expect(admission.admit("a") == nil)
    }
}
