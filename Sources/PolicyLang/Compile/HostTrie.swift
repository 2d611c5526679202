/// Host patterns in a trie of reversed labels (`com` -> `foo` -> `api`).
///
/// Every node holds the entries of the exact patterns that end there and of
/// the wildcard patterns `*.<node>`. A lookup walks the requested name from
/// its last label, so its cost depends on the name's depth, not on the number
/// of rules. Children live in one flat open-addressing table keyed by
/// (parent, label bytes), so a lookup hashes and compares the request's own
/// bytes and never allocates.
struct HostTrie: Sendable {
    struct Entry: Sendable {
        let rule: Int32
        let portLow: Int32
        let portHigh: Int32
    }

    private struct Slot: Sendable {
        var parent: Int32 = -1
        var labelStart: Int32 = 0
        var labelLength: Int32 = 0
        var child: Int32 = -1
    }

    /// For node `n`: exact entries are `entries[exactRanges[n]]`, wildcard
    /// entries `entries[wildcardRanges[n]]`.
    private let exactRanges: [Range<Int>]
    private let wildcardRanges: [Range<Int>]
    private let entries: [Entry]
    /// Entries of the `*` pattern.
    let anyEntries: [Entry]
    private let slots: [Slot]
    private let arena: [UInt8]
    private let mask: Int

    var nodeCount: Int { exactRanges.count }

    /// Builds the trie from (pattern, ports, rule) triples, entries kept in rule order.
    init(_ patterns: [(HostPattern, PortRange?, Int)]) {
        var children: [[String: Int]] = [[:]]
        var exact: [[Entry]] = [[]]
        var wildcard: [[Entry]] = [[]]
        var any: [Entry] = []
        for (pattern, ports, rule) in patterns {
            let entry = Entry(
                rule: Int32(rule), portLow: Int32(ports?.low ?? 0), portHigh: Int32(ports?.high ?? 65535))
            let name: String
            switch pattern {
            case .any:
                any.append(entry)
                continue
            case .exact(let n), .wildcard(let n): name = n
            }
            var node = 0
            for label in name.split(separator: ".").reversed() {
                if let next = children[node][String(label)] {
                    node = next
                } else {
                    children.append([:])
                    exact.append([])
                    wildcard.append([])
                    children[node][String(label)] = children.count - 1
                    node = children.count - 1
                }
            }
            if case .exact = pattern { exact[node].append(entry) } else { wildcard[node].append(entry) }
        }

        var flat: [Entry] = []
        var exactRanges: [Range<Int>] = []
        var wildcardRanges: [Range<Int>] = []
        for node in 0..<children.count {
            let start = flat.count
            flat += exact[node].sorted { $0.rule < $1.rule }
            exactRanges.append(start..<flat.count)
            let middle = flat.count
            flat += wildcard[node].sorted { $0.rule < $1.rule }
            wildcardRanges.append(middle..<flat.count)
        }
        self.entries = flat
        self.exactRanges = exactRanges
        self.wildcardRanges = wildcardRanges
        self.anyEntries = any.sorted { $0.rule < $1.rule }

        (slots, arena, mask) = Self.edgeTable(children)
    }

    /// The edges (parent, label) -> child in one open-addressed table, with
    /// every label's bytes in one arena: a lookup hashes and compares bytes
    /// without building a string.
    private static func edgeTable(_ children: [[String: Int]]) -> (slots: [Slot], arena: [UInt8], mask: Int) {
        let edgeCount = children.count - 1
        var capacity = 16
        while capacity < edgeCount * 2 { capacity <<= 1 }
        var slots = [Slot](repeating: Slot(), count: capacity)
        var arena: [UInt8] = []
        for (parent, map) in children.enumerated() {
            for (label, child) in map {
                let bytes = Array(label.utf8)
                var index = Int(truncatingIfNeeded: hash(parent: parent, bytes[...])) & (capacity - 1)
                while slots[index].child >= 0 { index = (index + 1) & (capacity - 1) }
                slots[index] = Slot(
                    parent: Int32(parent), labelStart: Int32(arena.count), labelLength: Int32(bytes.count),
                    child: Int32(child))
                arena += bytes
            }
        }
        return (slots, arena, capacity - 1)
    }

    /// FNV-1a over the label, seeded with the parent node.
    @inline(__always)
    private static func hash<C: Collection>(parent: Int, _ label: C) -> UInt64 where C.Element == UInt8 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325 ^ UInt64(truncatingIfNeeded: parent &* 0x9E37_79B9)
        for byte in label {
            h ^= UInt64(byte)
            h = h &* 0x100_0000_01b3
        }
        return h ^ (h >> 29)
    }

    /// The child of `parent` for an already lower-cased label, or -1.
    @inline(__always)
    func child(of parent: Int, label: UnsafeBufferPointer<UInt8>.SubSequence) -> Int {
        var index = Int(truncatingIfNeeded: Self.hash(parent: parent, label)) & mask
        while true {
            let slot = slots[index]
            if slot.child < 0 { return -1 }
            if Int(slot.parent) == parent, Int(slot.labelLength) == label.count {
                let start = Int(slot.labelStart)
                var equal = true
                var offset = start
                for byte in label {
                    if arena[offset] != byte {
                        equal = false
                        break
                    }
                    offset += 1
                }
                if equal { return Int(slot.child) }
            }
            index = (index + 1) & mask
        }
    }

    @inline(__always)
    func exactEntries(_ node: Int) -> ArraySlice<Entry> { entries[exactRanges[node]] }

    @inline(__always)
    func wildcardEntries(_ node: Int) -> ArraySlice<Entry> { entries[wildcardRanges[node]] }
}
