import Testing
import TestSupport

@testable import EnforcerCore
@testable import PEP

@Suite struct LRUDictionaryTests {
    @Test func evictsTheLeastRecentlyUsed() {
        var lru = LRUDictionary<String, Int>(capacity: 3)
        lru.set("a", 1)
        lru.set("b", 2)
        lru.set("c", 3)
        #expect(lru.get("a") == 1)  // a is now the most recent
        #expect(lru.set("d", 4) == "b")
        #expect(lru.keysByRecency == ["d", "a", "c"])
        #expect(lru.peek("b") == nil)
        #expect(lru.count == 3)
    }

    @Test func peekDoesNotTouch() {
        var lru = LRUDictionary<String, Int>(capacity: 2)
        lru.set("a", 1)
        lru.set("b", 2)
        #expect(lru.peek("a") == 1)
        #expect(lru.set("c", 3) == "a")
    }

    @Test func replacingAValueTouchesIt() {
        var lru = LRUDictionary<String, Int>(capacity: 2)
        lru.set("a", 1)
        lru.set("b", 2)
        #expect(lru.set("a", 10) == nil)
        #expect(lru.set("c", 3) == "b")
        #expect(lru.get("a") == 10)
    }

    @Test func removedSlotsAreReused() {
        var lru = LRUDictionary<Int, Int>(capacity: 4)
        for i in 0..<4 { lru.set(i, i) }
        #expect(lru.remove(1) == 1)
        #expect(lru.remove(1) == nil)
        lru.set(9, 9)
        #expect(lru.keysByRecency == [9, 3, 2, 0])
        lru.removeAll()
        #expect(lru.count == 0)
        #expect(lru.keysByRecency.isEmpty)
    }

    /// Against a reference: an array ordered by recency, for many random operations.
    @Test func agreesWithAReferenceModel() {
        var lru = LRUDictionary<Int, Int>(capacity: 8)
        var model: [(Int, Int)] = []  // most recent first
        var rng = SeededGenerator(seed: 42)
        for step in 0..<20_000 {
            let key = Int(rng.next() % 16)
            switch rng.next() % 3 {
            case 0:
                let got = lru.get(key)
                if let i = model.firstIndex(where: { $0.0 == key }) {
                    #expect(got == model[i].1)
                    model.insert(model.remove(at: i), at: 0)
                } else {
                    #expect(got == nil)
                }
            case 1:
                let evicted = lru.set(key, step)
                if let i = model.firstIndex(where: { $0.0 == key }) {
                    model.remove(at: i)
                    #expect(evicted == nil)
                } else if model.count == 8 {
                    #expect(evicted == model.removeLast().0)
                } else {
                    #expect(evicted == nil)
                }
                model.insert((key, step), at: 0)
            default:
                let removed = lru.remove(key)
                if let i = model.firstIndex(where: { $0.0 == key }) {
                    #expect(removed == model.remove(at: i).1)
                } else {
                    #expect(removed == nil)
                }
            }
            #expect(lru.keysByRecency == model.map(\.0))
        }
    }
}
