import Foundation
import NIOConcurrencyHelpers

/// What `GET /v1/watch` streams: one JSON line per change.
public struct WatchEvent: Sendable, Codable, Equatable {
    public enum Kind: String, Sendable, Codable { case hello, revision, inventory }
    public var event: Kind
    public var revision: Int64?
    public var inventoryGeneration: Int64

    var jsonLine: String {
        "{\"event\":\"\(event.rawValue)\",\"revision\":\(revision.map(String.init) ?? "null"),\"inventoryGeneration\":\(inventoryGeneration)}\n"
    }
}

/// The open watch streams. Subscribers are called on the thread that made the
/// change; each hops to its own event loop.
public final class WatchHub: Sendable {
    private let subscribers = NIOLockedValueBox([UUID: @Sendable (WatchEvent) -> Void]())
    private let metrics: PDPMetrics

    init(metrics: PDPMetrics) { self.metrics = metrics }

    func subscribe(_ callback: @escaping @Sendable (WatchEvent) -> Void) -> UUID {
        let id = UUID()
        let count = subscribers.withLockedValue {
            $0[id] = callback
            return $0.count
        }
        metrics.watchSubscribers.set(to: Double(count))
        return id
    }

    func unsubscribe(_ id: UUID) {
        let count = subscribers.withLockedValue {
            $0[id] = nil
            return $0.count
        }
        metrics.watchSubscribers.set(to: Double(count))
    }

    func publish(_ event: WatchEvent) {
        for callback in subscribers.withLockedValue({ Array($0.values) }) { callback(event) }
    }
}
