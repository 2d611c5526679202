import Testing

@testable import PDP

/// The shared counter under the body budget and the audit backlog.
struct BoundedCountTests {
    @Test func aReservationMustFitWhole() {
        let count = BoundedCount(limit: 10)
        #expect(count.reserve(6))
        #expect(!count.reserve(5))
        #expect(count.current == 6)
        #expect(count.reserve(4))
        #expect(!count.reserve(1))
        #expect(count.reserve(0))
        #expect(count.release(7) == 3)
        #expect(count.release(0) == 3)
    }

    @Test func batchesMayOvershootOnce() {
        let count = BoundedCount(limit: 10, batchesMayOvershoot: true)
        #expect(count.reserve(9))
        // Checked before it is added: a batch passes while there is room left.
        #expect(count.reserve(50))
        #expect(count.current == 59)
        #expect(!count.reserve(1))
        count.release(50)
        #expect(count.reserve(1))
    }
}
