import EgressAPI
import Foundation
import NIOConcurrencyHelpers

/// The open watch streams. Subscribers are called on the thread that made the
/// change; each hops to its own event loop.
public final class WatchHub: Sendable {
    /// What a subscriber is told.
    enum Signal: Sendable {
        /// A change to stream.
        case event(WatchEvent)
        /// A token was created, revoked or reloaded: a stream opened with a
        /// token checks that it is still live.
        case tokensChanged
    }

    private let subscribers = NIOLockedValueBox([UUID: @Sendable (Signal) -> Void]())
    private let metrics: PDPMetrics

    init(metrics: PDPMetrics) { self.metrics = metrics }

    func subscribe(_ callback: @escaping @Sendable (Signal) -> Void) -> UUID {
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
        signal(.event(event))
    }

    func tokensChanged() {
        signal(.tokensChanged)
    }

    private func signal(_ signal: Signal) {
        for callback in subscribers.withLockedValue({ Array($0.values) }) { callback(signal) }
    }
}
