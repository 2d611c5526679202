/// One line of the audit trail: a decision the service made, a connection
/// an enforcer reported, or connections an enforcer handled but could not
/// report (its report buffer was full). `seq` and `hash` are set when the
/// record is written.
public struct AuditRecord: Codable, Sendable, Hashable {
    public enum Kind: String, Codable, Sendable { case decision, access, dropped }

    public var seq: Int64?
    /// Milliseconds since 1970.
    public var time: Int64
    public var kind: Kind
    /// The token or certificate name of the enforcer that asked or reported.
    public var enforcer: String
    public var sourceIP: String?
    public var namespace: String?
    public var serviceAccount: String?
    public var pod: String?
    public var spiffe: String?
    public var labels: [String: String]?
    public var host: String
    public var port: Int
    public var verdict: String
    public var rule: String?
    public var ruleName: String?
    public var revision: Int64?
    /// For decisions: the verdict and rule had the dry-run rules been
    /// enforced, when they differ from the enforced ones.
    public var dryRunVerdict: String?
    public var dryRunRule: String?
    /// For reported connections: why it was refused, if it was.
    public var reason: String?
    /// For reported connections: where the workload tried to go, and where
    /// the enforcer connected instead.
    public var originalDestination: String?
    public var upstream: String?
    /// For reported connections: whether the verdict came from the enforcer's cache.
    public var cached: Bool?
    public var bytesUp: Int64?
    public var bytesDown: Int64?
    public var durationMs: Int64?
    /// For `dropped` records: how many connection records of this verdict
    /// the enforcer dropped between `time` and `time + durationMs`.
    public var count: Int64?
    /// For `access` records of requests carried as HTTP (TLS origination):
    /// the method, the path (without its query unless the enforcer kept
    /// it) and the answer's status.
    public var method: String?
    public var path: String?
    public var status: Int?
    /// For `access` records of DNS queries (egress-dns): the query type.
    /// Allowed queries are recorded in counted form: `count` of them, of
    /// this source, name and type, between `time` and `time + durationMs`.
    public var queryType: String?
    public var hash: String?

    public init(
        time: Int64, kind: Kind, enforcer: String, sourceIP: String? = nil, namespace: String? = nil,
        serviceAccount: String? = nil, pod: String? = nil, spiffe: String? = nil, labels: [String: String]? = nil,
        host: String, port: Int, verdict: String, rule: String? = nil, ruleName: String? = nil, revision: Int64? = nil,
        dryRunVerdict: String? = nil, dryRunRule: String? = nil,
        reason: String? = nil, originalDestination: String? = nil, upstream: String? = nil, cached: Bool? = nil, bytesUp: Int64? = nil, bytesDown: Int64? = nil,
        durationMs: Int64? = nil, count: Int64? = nil
    ) {
        self.time = time
        self.kind = kind
        self.enforcer = enforcer
        self.sourceIP = sourceIP
        self.namespace = namespace
        self.serviceAccount = serviceAccount
        self.pod = pod
        self.spiffe = spiffe
        self.labels = labels
        self.host = host
        self.port = port
        self.verdict = verdict
        self.rule = rule
        self.ruleName = ruleName
        self.revision = revision
        self.dryRunVerdict = dryRunVerdict
        self.dryRunRule = dryRunRule
        self.reason = reason
        self.originalDestination = originalDestination
        self.upstream = upstream
        self.cached = cached
        self.bytesUp = bytesUp
        self.bytesDown = bytesDown
        self.durationMs = durationMs
        self.count = count
    }
}
