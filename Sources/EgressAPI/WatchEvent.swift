import Foundation

/// What `GET /v1/watch` streams: one JSON line per change. `hello` comes
/// first and after every reconnect; `revision` and `inventory` say what changed.
public struct WatchEvent: Sendable, Codable, Equatable {
    public enum Kind: String, Sendable, Codable { case hello, revision, inventory }
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
    /// Reads one line of the stream; nil when it is not an event.
    public init?(line: some StringProtocol) {
        guard let event = try? JSONDecoder().decode(WatchEvent.self, from: Data(line.utf8)) else { return nil }
        self = event
    }
}
