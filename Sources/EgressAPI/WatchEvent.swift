import Foundation

/// What `GET /v1/watch` streams: one JSON line per change. `hello` comes
/// first and after every reconnect; `revision` and `inventory` say what changed.
public struct WatchEvent: Sendable, Codable, Equatable {
    /// Open to kinds a later service may add: an enforcer that does not know
    /// one treats it as a change, so that nothing it caches outlives it.
    public struct Kind: RawRepresentable, Sendable, Codable, Hashable {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }

        public static let hello = Kind(rawValue: "hello")
        public static let revision = Kind(rawValue: "revision")
        public static let inventory = Kind(rawValue: "inventory")
    }

    public var event: Kind
    public var revision: Int64?
    public var inventoryGeneration: Int64

    public init(event: Kind, revision: Int64?, inventoryGeneration: Int64) {
        self.event = event
        self.revision = revision
        self.inventoryGeneration = inventoryGeneration
    }

    /// The event as the stream sends it: one line of JSON.
    public var jsonLine: String {
        "{\"event\":\"\(event.rawValue)\",\"revision\":\(revision.map(String.init) ?? "null"),\"inventoryGeneration\":\(inventoryGeneration)}\n"
    }
}

extension WatchEvent {
    enum CodingKeys: String, CodingKey { case event, revision, inventoryGeneration }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        event = try c.decode(Kind.self, forKey: .event)
        revision = try c.decodeIfPresent(Int64.self, forKey: .revision)
        inventoryGeneration = try c.decodeIfPresent(Int64.self, forKey: .inventoryGeneration) ?? 0
    }

    /// Reads one line of the stream; nil when it is not an event.
    public init?(line: some StringProtocol) {
        guard let event = try? JSONDecoder().decode(WatchEvent.self, from: Data(line.utf8)) else { return nil }
        self = event
    }
}
