import NIOHTTP2

/// The requests of one connection that are still being received, by stream.
/// Nearly every request arrives as HEADERS then DATA, back to back, so the
/// newest stream is kept apart from the dictionary: it is found, updated and
/// removed without hashing its ID (SipHash, a few times per request, showed
/// in profiles of the decision API).
struct OpenStreams<Value> {
    private var newest: (id: HTTP2StreamID, value: Value)?
    private var others: [HTTP2StreamID: Value] = [:]

    var isEmpty: Bool { newest == nil && others.isEmpty }

    var count: Int { others.count + (newest == nil ? 0 : 1) }

    /// The streams whose value satisfies `predicate`.
    func ids(where predicate: (Value) -> Bool) -> [HTTP2StreamID] {
        var result: [HTTP2StreamID] = []
        if let newest, predicate(newest.value) { result.append(newest.id) }
        for (id, value) in others where predicate(value) { result.append(id) }
        return result
    }

    /// Removes every stream and returns their values.
    mutating func removeAll() -> [Value] {
        var values = Array(others.values)
        if let newest { values.append(newest.value) }
        newest = nil
        others = [:]
        return values
    }

    func contains(_ id: HTTP2StreamID) -> Bool {
        if let newest, newest.id == id { return true }
        return !others.isEmpty && others[id] != nil
    }

    /// Adds a stream, which becomes the newest.
    mutating func insert(_ value: Value, for id: HTTP2StreamID) {
        if let newest { others[newest.id] = newest.value }
        newest = (id, value)
    }

    /// Runs `body` on the stream's value; `nil` when there is no such stream.
    mutating func modify<Result>(_ id: HTTP2StreamID, _ body: (inout Value) -> Result) -> Result? {
        // Moved out and back (`take`), not copied: a copy would retain and
        // release every buffer and string of the request on each DATA frame.
        if newest?.id == id, var current = newest.take() {
            defer { newest = current }
            return body(&current.value)
        }
        guard !others.isEmpty, var value = others.removeValue(forKey: id) else { return nil }
        defer { others[id] = value }
        return body(&value)
    }

    mutating func remove(_ id: HTTP2StreamID) -> Value? {
        if let newest, newest.id == id {
            self.newest = nil
            return newest.value
        }
        return others.isEmpty ? nil : others.removeValue(forKey: id)
    }
}
