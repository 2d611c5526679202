/// A dictionary of bounded size that forgets its least recently used entry
/// first. Nodes live in one array linked by index, so that touching an entry
/// moves no memory and allocates nothing.
public struct LRUDictionary<Key: Hashable, Value> {
    fileprivate struct Node {
        var key: Key
        var value: Value
        var newer: Int  // toward the most recent; -1 at the head
        var older: Int  // toward the least recent; -1 at the tail
    }

    public let capacity: Int
    private var index: [Key: Int] = [:]
    private var nodes: [Node] = []
    private var free: [Int] = []
    private var newest = -1
    private var oldest = -1

    public init(capacity: Int) {
        precondition(capacity > 0, "an LRU needs room for one entry")
        self.capacity = capacity
    }

    public var count: Int { index.count }

    /// The value, marked as just used.
    public mutating func get(_ key: Key) -> Value? {
        guard let i = index[key] else { return nil }
        touch(i)
        return nodes[i].value
    }

    /// The value without marking it used.
    public func peek(_ key: Key) -> Value? {
        index[key].map { nodes[$0].value }
    }

    /// Stores a value; returns the key evicted to make room, if any.
    @discardableResult
    public mutating func set(_ key: Key, _ value: Value) -> Key? {
        if let i = index[key] {
            nodes[i].value = value
            touch(i)
            return nil
        }
        var evicted: Key?
        if index.count >= capacity, oldest >= 0 {
            let key = nodes[oldest].key
            remove(key)
            evicted = key
        }
        let node = Node(key: key, value: value, newer: -1, older: newest)
        let i: Int
        if let reused = free.popLast() {
            nodes[reused] = node
            i = reused
        } else {
            nodes.append(node)
            i = nodes.count - 1
        }
        if newest >= 0 { nodes[newest].newer = i }
        newest = i
        if oldest < 0 { oldest = i }
        index[key] = i
        return evicted
    }

    @discardableResult
    public mutating func remove(_ key: Key) -> Value? {
        guard let i = index.removeValue(forKey: key) else { return nil }
        unlink(i)
        free.append(i)
        return nodes[i].value
    }

    public mutating func removeAll() {
        index.removeAll()
        nodes.removeAll()
        free.removeAll()
        newest = -1
        oldest = -1
    }

    /// Keys from the most to the least recently used (for tests).
    public var keysByRecency: [Key] {
        var keys: [Key] = []
        var i = newest
        while i >= 0 {
            keys.append(nodes[i].key)
            i = nodes[i].older
        }
        return keys
    }

    private mutating func touch(_ i: Int) {
        guard i != newest else { return }
        unlink(i)
        nodes[i].older = newest
        nodes[i].newer = -1
        if newest >= 0 { nodes[newest].newer = i }
        newest = i
        if oldest < 0 { oldest = i }
    }

    private mutating func unlink(_ i: Int) {
        let (newer, older) = (nodes[i].newer, nodes[i].older)
        if newer >= 0 { nodes[newer].older = older } else { newest = older }
        if older >= 0 { nodes[older].newer = newer } else { oldest = newer }
    }
}

extension LRUDictionary: Sendable where Key: Sendable, Value: Sendable {}
extension LRUDictionary.Node: Sendable where Key: Sendable, Value: Sendable {}
