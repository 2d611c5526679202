import NIOCore
import Testing

@testable import EnforcerCore
@testable import PEP

@Suite struct LogThrottleTests {
    @Test func oneOfEachKindPerIntervalWithTheCountHeldBack() {
        let throttle = LogThrottle(interval: .seconds(10))
        let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
        #expect(throttle.admit("dns", now: start) == 0)
        #expect(throttle.admit("dns", now: start + .seconds(1)) == nil)
        #expect(throttle.admit("dns", now: start + .seconds(9)) == nil)
        // Another kind has its own interval.
        #expect(throttle.admit("inward", now: start + .seconds(9)) == 0)
        // After the interval the next one goes through, with the count.
        #expect(throttle.admit("dns", now: start + .seconds(10)) == 2)
        #expect(throttle.admit("dns", now: start + .seconds(11)) == nil)
        #expect(throttle.admit("dns", now: start + .seconds(25)) == 1)
    }
}
