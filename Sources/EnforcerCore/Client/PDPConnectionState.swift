import NIOCore

/// The life of the enforcer's one connection to the decision service,
/// without I/O: whether a request may use the open connection, must wait for
/// the connect under way, must start one, or must fail at once because
/// connects are backing off; and when a connection that stopped answering is
/// to be dropped. `PDPClient` keeps one under a lock and does what it says.
/// Generic over the connection and the pending connect, so that its tests
/// need neither.
struct PDPConnectionState<Connection, Pending> {
    /// What a request is to do.
    enum Next {
        case ready(Connection)
        /// Wait for the connect under way.
        case join(Pending)
        /// Start a connect (and report it with `connecting`).
        case connect
        /// Connects are backing off: fail at once with this error.
        case backingOff(String)
    }

    /// Requests in a row that got no answer in time. A connection whose peer
    /// vanished without a reset looks open for minutes; after this many it is
    /// dropped and the next request connects again.
    static var maxSilentRequests: Int { 2 }

    /// The first retry's delay, doubled after each failure up to `maxDelay`.
    static var firstDelay: TimeAmount { .milliseconds(100) }
    static var maxDelay: TimeAmount { .seconds(5) }

    private(set) var connection: Connection?
    private var pending: Pending?
    private(set) var failures = 0
    private var retryAt = NIODeadline.distantPast
    private(set) var lastError = "not connected yet"
    private(set) var silentRequests = 0

    /// `isOpen`: whether the held connection is still open.
    func next(now: NIODeadline, isOpen: (Connection) -> Bool) -> Next {
        if let connection, isOpen(connection) { return .ready(connection) }
        if let pending { return .join(pending) }
        guard now >= retryAt else { return .backingOff(lastError) }
        return .connect
    }

    mutating func connecting(_ pending: Pending) {
        self.pending = pending
    }

    mutating func connected(_ connection: Connection) {
        self.connection = connection
        pending = nil
        failures = 0
        silentRequests = 0
    }

    /// A connect failed: no new one before the returned delay has passed.
    mutating func connectFailed(_ error: String, now: NIODeadline) -> TimeAmount {
        pending = nil
        let delay = min(Self.maxDelay, .nanoseconds(Self.firstDelay.nanoseconds << Int64(min(failures, 6))))
        failures += 1
        retryAt = now + delay
        lastError = error
        return delay
    }

    /// The connection closed; `isThis` tells whether it is the one held (a
    /// newer one may have taken its place already).
    mutating func closed(isThis: (Connection) -> Bool) {
        if let connection, isThis(connection) { self.connection = nil }
    }

    /// A request got no answer in time: true when the connection is to be
    /// dropped as silent.
    mutating func requestTimedOut() -> Bool {
        silentRequests += 1
        return silentRequests >= Self.maxSilentRequests
    }

    mutating func answered() {
        silentRequests = 0
    }

    /// Takes the connection away (to close it).
    mutating func take() -> Connection? {
        defer { connection = nil }
        return connection
    }
}

extension PDPConnectionState: Sendable where Connection: Sendable, Pending: Sendable {}
