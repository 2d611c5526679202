import EnforcerCore
import NIOCore

/// Everything `egress-pep serve` was told, checked.
public struct PEPConfiguration: Sendable {
    public var transparent: SocketAddress?
    /// The transparent listener takes TPROXY'd connections (IP_TRANSPARENT;
    /// the destination is the accepted socket's local address), not REDIRECTed ones.
    public var tproxy = false
    public var connect: SocketAddress?
    /// Plain HTTP carried out as TLS: the listener (a REDIRECT of port 80's
    /// target), the workload port to TLS port map, a CA bundle trusted for
    /// upstreams besides the system's, and whether records keep queries.
    public var http: SocketAddress?
    public var httpPortMap: [Int: Int] = [80: 443]
    public var upstreamCA: String?
    public var logQuery = false
    public var adminHost = "127.0.0.1"
    public var adminPort = 15003
    public var pdp = DecisionServiceConnection()
    public var internalRanges: [AddressRange] = AddressRange.defaultInternal
    /// Network-specific NAT64 prefixes (/96) besides the well-known one:
    /// every internal IPv4 range is internal in their form too.
    public var nat64Prefixes: [AddressRange] = []
    /// Add the host's own interface addresses to the internal ranges.
    public var includeOwnAddresses = true
    public var refuseECH = false
    public var cacheSize = 100_000
    public var staleMaxAge: TimeAmount = .zero
    public var helloTimeout: TimeAmount = .seconds(10)
    public var connectTimeout: TimeAmount = .seconds(5)
    /// How long a name's addresses are reused (0: resolve every connection).
    public var dnsCacheTTL: TimeAmount = .seconds(10)
    /// How long a connection waits for the resolver before it is refused.
    public var dnsTimeout: TimeAmount = .seconds(5)
    public var idleTimeout: TimeAmount = .seconds(300)
    public var maxConnections = 10_000
    /// Connections one workload address may hold at once: one compromised
    /// pod cannot take every slot of its node.
    public var maxConnectionsPerSource = 1000
    public var shutdownGrace: TimeAmount = .seconds(30)
    public var reportBuffer = 100_000
    /// Nil: one per core, or, pinned, one per CPU the process may use.
    public var eventLoopThreads: Int?
    /// Pin each event loop to one of the CPUs the process may run on.
    public var pinEventLoops = false

    public init() {}
}
