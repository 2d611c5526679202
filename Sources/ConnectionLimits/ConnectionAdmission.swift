import Synchronization

/// Decides whether a new connection may be kept: under a total cap, under a
/// share of that cap for its source address, and not from a source that is
/// serving a penalty for resetting too many streams. Both daemons use it:
/// one address (one compromised pod, or one stolen token used from one
/// place) must not be able to take every slot, nor dodge a per-connection
/// limit by opening a fresh connection each time it nears it.
///
/// Standard library only, so that the decision service and the enforcer can
/// share it without sharing anything else.
public final class ConnectionAdmission: Sendable {
    public struct Limits: Sendable, Equatable {
        /// Connections open at once, at most.
        public var maxConnections: Int
        /// Connections one source address may hold at once, at most.
        public var maxPerSource: Int
        /// Stream resets one source address may send per `resetWindow`
        /// across all its connections; `nil` for no limit.
        public var maxResetsPerSource: Int?
        /// The window resets are counted in, and how long a source that
        /// went over is refused new connections.
        public var resetWindow: Duration

        public init(maxConnections: Int, maxPerSource: Int, maxResetsPerSource: Int? = nil, resetWindow: Duration = .seconds(10)) {
            self.maxConnections = maxConnections
            self.maxPerSource = min(maxPerSource, maxConnections)
            self.maxResetsPerSource = maxResetsPerSource
            self.resetWindow = resetWindow
        }
    }

    /// Why a connection was not admitted.
    public enum Refusal: String, Sendable, CaseIterable {
        /// Every slot is taken.
        case capacity
        /// Its source holds its whole share.
        case sourceShare = "source-share"
        /// Its source reset too many streams lately.
        case resetPenalty = "reset-penalty"
    }

    private struct ResetCount {
        var windowStart: ContinuousClock.Instant
        var count: Int
        /// Until when the source is refused, once it went over.
        var penaltyEnds: ContinuousClock.Instant?
    }

    private struct State {
        var open = 0
        var bySource: [String: Int] = [:]
        var resets: [String: ResetCount] = [:]
    }

    public let limits: Limits
    private let state = Mutex(State())

    public init(_ limits: Limits) {
        self.limits = limits
    }

    /// Connections held now.
    public var openConnections: Int { state.withLock { $0.open } }

    /// Connections `source` holds now.
    public func connections(of source: String) -> Int { state.withLock { $0.bySource[source] ?? 0 } }

    /// Takes a slot for a connection from `source`; `nil` when admitted (give
    /// the slot back with `release`), else why not.
    public func admit(_ source: String, now: ContinuousClock.Instant = .now) -> Refusal? {
        state.withLock { state in
            if let penalty = state.resets[source]?.penaltyEnds, now < penalty { return .resetPenalty }
            guard state.open < limits.maxConnections else { return .capacity }
            let held = state.bySource[source, default: 0]
            guard held < limits.maxPerSource else { return .sourceShare }
            state.open += 1
            state.bySource[source] = held + 1
            return nil
        }
    }

    /// Gives back the slot of a connection `admit` took.
    public func release(_ source: String) {
        state.withLock { state in
            state.open -= 1
            let held = state.bySource[source, default: 1] - 1
            state.bySource[source] = held > 0 ? held : nil
        }
    }

    /// Counts `count` stream resets from `source`; `true` when that carries
    /// it over its limit: the caller closes the connection, and the source
    /// is refused new ones for one `resetWindow` from now.
    public func recordResets(_ source: String, count: Int, now: ContinuousClock.Instant = .now) -> Bool {
        guard let limit = limits.maxResetsPerSource, count > 0 else { return false }
        return state.withLock { state in
            var entry = state.resets[source] ?? ResetCount(windowStart: now, count: 0)
            if now - entry.windowStart >= limits.resetWindow {
                entry.windowStart = now
                entry.count = 0
            }
            entry.count += count
            let over = entry.count > limit
            if over { entry.penaltyEnds = now + limits.resetWindow }
            state.resets[source] = entry
            // Sources come and go: forget the ones whose window and penalty
            // are over, once there are more than there can be connections.
            if state.resets.count > 2 * limits.maxConnections + 64 {
                state.resets = state.resets.filter { _, value in
                    now - value.windowStart < limits.resetWindow || (value.penaltyEnds.map { now < $0 } ?? false)
                }
            }
            return over
        }
    }
}
