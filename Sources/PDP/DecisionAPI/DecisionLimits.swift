import ConnectionLimits
import NIOCore

/// Every cap and timeout of the decision API (docs/pdp.md, "Limits and
/// abuse"). Enforcers are trusted with decisions, not with the service's
/// resources: a stolen token, or a slow network, must not be able to hold
/// memory, sockets or CPU that other enforcers need.
public struct DecisionLimits: Sendable {
    /// Connections at once, per source address, and stream resets per
    /// source address over time.
    public var admission: ConnectionAdmission.Limits
    /// Bytes of request bodies held across all connections, at most.
    public var bodyBudget: Int
    /// Bytes of request bodies one connection may hold, at most: one
    /// connection cannot take the whole budget.
    public var bodyBudgetPerConnection: Int
    /// Time from accepting a connection to its first HTTP/2 frame.
    public var prefaceTimeout: TimeAmount
    /// Time a connection with no open request and no watch may go without
    /// sending a frame before it is closed (with GOAWAY).
    public var idleTimeout: TimeAmount
    /// Time from a request's headers to the end of its body; then it is
    /// answered 408 and reset.
    public var requestTimeout: TimeAmount
    /// Answers written but held back by the client's flow-control windows,
    /// per connection; past it the connection is closed.
    public var maxBufferedAnswers: Int

    public init(
        admission: ConnectionAdmission.Limits = .init(maxConnections: 1024, maxPerSource: 64, maxResetsPerSource: 400),
        bodyBudget: Int = 64 << 20, bodyBudgetPerConnection: Int = 16 << 20, prefaceTimeout: TimeAmount = .seconds(10),
        idleTimeout: TimeAmount = .seconds(300), requestTimeout: TimeAmount = .seconds(30), maxBufferedAnswers: Int = 256
    ) {
        self.admission = admission
        self.bodyBudget = bodyBudget
        self.bodyBudgetPerConnection = bodyBudgetPerConnection
        self.prefaceTimeout = prefaceTimeout
        self.idleTimeout = idleTimeout
        self.requestTimeout = requestTimeout
        self.maxBufferedAnswers = maxBufferedAnswers
    }
}
