import EgressAPI
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import ServiceLifecycle
import StreamLines

/// Follows the decision service's `GET /v1/watch` and empties the verdict
/// cache on every revision or inventory change, so that a policy change
/// reaches the next connection instead of waiting out cached TTLs. After a
/// reconnect, the `hello` tells whether anything changed while the stream
/// was down; if so (or if that cannot be known), the cache is emptied too.
public final class WatchFollower: Service, Sendable {
    private struct Seen: Equatable {
        var revision: Int64?
        var inventoryGeneration: Int64?
    }

    private let pdp: PDPClient
    private let cache: VerdictCache
    private let logger: Logger
    private let metrics: EnforcerMetrics?
    private let seen = NIOLockedValueBox<Seen?>(nil)
    /// Whether the stream is up: readiness reports it.
    private let connected = NIOLockedValueBox(false)

    /// How long a new stream may take to deliver its `hello`, which the
    /// service sends at once. A stream that stays silent is given up and
    /// opened again: without it, a stream whose first answer was lost would
    /// leave the enforcer unready, and the cache unwatched, for good.
    let helloTimeout: Duration

    public init(pdp: PDPClient, cache: VerdictCache, metrics: EnforcerMetrics?, logger: Logger, helloTimeout: Duration = .seconds(5)) {
        self.pdp = pdp
        self.cache = cache
        self.metrics = metrics
        self.logger = logger
        self.helloTimeout = helloTimeout
    }

    /// A stream that delivered nothing within `helloTimeout`.
    struct SilentStream: Error, CustomStringConvertible {
        let timeout: Duration
        var description: String {
            let (seconds, attoseconds) = timeout.components
            let text = attoseconds == 0 ? "\(seconds) seconds" : "\(seconds * 1000 + attoseconds / 1_000_000_000_000_000) ms"
            return "the watch stream sent no hello within \(text)"
        }
    }

    /// The longest watch event taken.
    static let maxEventBytes = 1 << 20

    public var isFollowing: Bool { connected.withLockedValue { $0 } }

    public func run() async throws {
        // Stops with the service: cancelled, the stream's read ends.
        await cancelWhenGracefulShutdown { await self.follow() }
    }

    private func follow() async {
        var failures = 0
        while !Task.isCancelled {
            do {
                let status = try await followOnce()
                if status != 200 { logger.error("the decision service refused the watch stream", metadata: ["status": "\(status)"]) }
            } catch let silent as SilentStream {
                // The connection may be what is stuck (it can still answer
                // pings): the next stream gets a new one.
                logger.warning("\(silent); watching again")
                pdp.dropConnection()
            } catch {
                if !Task.isCancelled {
                    logger.warning(
                        "the watch stream failed; verdicts are kept only for their TTL until it is back",
                        metadata: ["error": "\(error)"])
                }
            }
            // A stream that delivered events was healthy: start the backoff over.
            let wasConnected = connected.withLockedValue { connected in
                defer { connected = false }
                return connected
            }
            failures = wasConnected ? 0 : failures + 1
            try? await Task.sleep(for: .milliseconds(min(5_000, 100 << min(failures, 6))))
        }
    }

    /// One stream, until it ends; throws `SilentStream` when its hello does
    /// not come in time.
    private func followOnce() async throws -> Int {
        // The service's events are a few hundred bytes: a longer line ends
        // the stream (and it is opened again) rather than being held or cut.
        let lines = NIOLockedValueBox(WatchLines(maxLineBytes: Self.maxEventBytes))
        let answered = NIOLockedValueBox(false)
        return try await withThrowingTaskGroup(of: Int?.self) { group in
            group.addTask { [self] in
                try await pdp.follow(path: "/v1/watch") { [self] chunk in
                    answered.withLockedValue { $0 = true }
                    for line in try lines.withLockedValue({ try $0.feed(chunk) }) { handle(String(buffer: line)) }
                    // Following once the hello is handled: a reader of
                    // `isFollowing` sees the cache as the hello left it.
                    connected.withLockedValue { $0 = true }
                }
            }
            group.addTask { [helloTimeout] in
                try await Task.sleep(for: helloTimeout)
                if answered.withLockedValue({ $0 }) { return nil }
                throw SilentStream(timeout: helloTimeout)
            }
            defer { group.cancelAll() }
            while let result = try await group.next() {
                if let status = result { return status }
            }
            return 0
        }
    }

    private func handle(_ line: String) {
        guard let event = WatchEvent(line: line) else {
            // Something changed, or the stream is broken: either way cached
            // verdicts may be stale.
            logger.warning("an unreadable watch event; verdict cache emptied", metadata: ["line": "\(line.prefix(200))"])
            cache.invalidateAll()
            return
        }
        let now = Seen(revision: event.revision, inventoryGeneration: event.inventoryGeneration)
        let previous = seen.withLockedValue { seen in
            defer { seen = now }
            return seen
        }
        metrics?.watchEvents.increment()
        switch event.event {
        case .hello:
            // A hello after a reconnect may follow changes this enforcer never
            // heard of; the first one, verdicts cached before the watch was up.
            if previous.map({ $0 != now }) ?? (cache.count > 0) {
                logger.info("the policy or inventory changed while the watch was down; verdict cache emptied")
                cache.invalidateAll()
            }
        default:
            logger.info("verdict cache emptied", metadata: ["event": "\(event.event.rawValue)", "revision": "\(now.revision.map(String.init) ?? "none")"])
            cache.invalidateAll()
        }
    }
}
