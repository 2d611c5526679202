/// The decision service's answer for one (source, host, port), as the
/// enforcer keeps it.
public struct Verdict: Sendable, Equatable {
    public var allow: Bool
    /// The deciding rule as `file:line`, and its name; nil under default deny.
    public var rule: String?
    public var name: String?
    public var revision: Int64?
    /// Seconds the answer may be cached.
    public var ttl: Int

    public init(allow: Bool, rule: String?, name: String?, revision: Int64?, ttl: Int) {
        self.allow = allow
        self.rule = rule
        self.name = name
        self.revision = revision
        self.ttl = ttl
    }
}

/// What a verdict is asked for: the connection's source address as the
/// enforcer saw it (never anything the workload said), the SNI, the port.
public struct VerdictKey: Hashable, Sendable, CustomStringConvertible {
    public let sourceIP: String
    public let host: String
    public let port: Int

    public init(sourceIP: String, host: String, port: Int) {
        self.sourceIP = sourceIP
        self.host = host
        self.port = port
    }

    public var description: String { "\(sourceIP) -> \(host):\(port)" }
}
