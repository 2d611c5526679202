import DNSMessage
import EnforcerCore
import NIOCore

/// Everything `egress-dns` was told, checked.
public struct DNSConfiguration: Sendable {
    /// How a name the workload may not reach is answered.
    public enum Refusal: String, Sendable, CaseIterable {
        /// NXDOMAIN: the name does not exist, as far as the workload can tell.
        case nxdomain
        /// REFUSED: the resolver will not answer.
        case refused
    }

    /// UDP and TCP listener (the pods' resolver, or the target of a redirect of their port 53).
    public var listen: SocketAddress = try! SocketAddress(ipAddress: "0.0.0.0", port: 15053)
    /// The resolvers allowed queries go to, in order of preference: the next
    /// is tried when one does not answer in time.
    public var upstreams: [SocketAddress] = []
    /// Zones whose names are always forwarded, undecided: the cluster's own.
    public var internalZones: [DNSName] = [DNSName("cluster.local")!]
    public var refusal: Refusal = .nxdomain
    /// Query types refused whatever the name (by default ANY).
    public var refusedTypes: Set<UInt16> = [RecordType.any]
    /// Take `ech` out of HTTPS and SVCB answers.
    public var stripECH = true
    public var adminHost = "127.0.0.1"
    public var adminPort = 15054
    public var pdp = DecisionServiceConnection()
    public var cacheSize = 100_000
    public var staleMaxAge: TimeAmount = .zero
    /// How long one upstream has to answer before the next is tried.
    public var upstreamTimeout: TimeAmount = .seconds(2)
    /// How long a query may wait for its verdict (the upstreams have
    /// `upstreamTimeout` each on top).
    public var queryTimeout: TimeAmount = .seconds(5)
    /// UDP queries being answered at once, per event loop, and per source address.
    public var maxInflight = 10_000
    public var maxInflightPerSource = 500
    /// TCP connections at once, and per source address; a connection's idle timeout.
    public var maxTCPConnections = 1_000
    public var maxTCPConnectionsPerSource = 50
    public var tcpIdleTimeout: TimeAmount = .seconds(10)
    /// How often allowed queries are reported, counted per source, name and type.
    public var countInterval: TimeAmount = .seconds(60)
    public var reportBuffer = 100_000
    public var eventLoopThreads: Int?

    public init() {}
}
