import NIOHTTP2
import Testing

@testable import PDP

/// The decision API's table of streams being received: the newest apart, the
/// others in a dictionary, one behaviour either way.
struct OpenStreamsTests {
    @Test func findsUpdatesAndRemovesTheNewestAndTheOthers() {
        var streams = OpenStreams<Int>()
        #expect(streams.isEmpty)
        streams.insert(1, for: 1)
        streams.insert(3, for: 3)
        streams.insert(5, for: 5)
        #expect(streams.contains(1) && streams.contains(3) && streams.contains(5))
        #expect(!streams.contains(7))
        #expect(streams.modify(3) { $0 += 30 } != nil)
        #expect(streams.modify(5) { $0 += 50 } != nil)
        #expect(streams.modify(7) { $0 += 70 } == nil)
        #expect(streams.remove(5) == 55)
        #expect(streams.remove(5) == nil)
        #expect(streams.remove(3) == 33)
        #expect(!streams.isEmpty)
        #expect(streams.remove(1) == 1)
        #expect(streams.isEmpty)
        // A stream added after the newest was removed is the newest again.
        streams.insert(9, for: 9)
        #expect(streams.modify(9) { $0 } == 9)
    }
}
