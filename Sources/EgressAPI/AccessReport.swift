/// `POST /v1/access`: connections an enforcer handled, cache hits included.
/// One type for both ends: egress-pep encodes it, egress-pdp decodes it.
public struct AccessReport: Codable, Sendable {
    public struct Connection: Codable, Sendable, Equatable {
        /// Milliseconds since 1970; the time of the report when missing.
        public var time: Int64?
        /// The workload's address; the service resolves it in the inventory.
        public var sourceIP: String
        /// The SNI (or CONNECT host); empty when there was none.
        public var host: String
        public var port: Int
        /// `allow` or `deny`.
        public var verdict: String
        public var rule: String?
        public var ruleName: String?
        public var revision: Int64?
        /// Why it was refused (`no-sni`, `not-tls`, `unresolvable`, ...), if it was.
        public var reason: String?
        /// Where the workload tried to go, and where the enforcer went instead.
        public var originalDestination: String?
        public var upstream: String?
        public var bytesUp: Int64?
        public var bytesDown: Int64?
        public var durationMs: Int64?
        /// Whether the verdict came from the enforcer's cache.
        public var cached: Bool?
        /// For a request the enforcer carried as HTTP (TLS origination): its
        /// method, its path (without the query unless the enforcer was told
        /// to keep it) and the response's status (or the refusal's).
        public var method: String?
        public var path: String?
        public var status: Int?
        /// For a DNS query (egress-dns): its type (`A`, `AAAA`, `HTTPS`,
        /// `TYPE65280`, ...). The port is 0: a name is asked for, not a port.
        public var queryType: String?
        /// For allowed DNS queries, which are recorded in counted form: how
        /// many of this source, name and type the record stands for, from
        /// `time` to `time + durationMs`.
        public var count: Int64?

        public init(
            time: Int64?, sourceIP: String, host: String, port: Int, allowed: Bool, rule: String? = nil,
            ruleName: String? = nil, revision: Int64? = nil, reason: String? = nil, originalDestination: String? = nil,
            upstream: String? = nil, cached: Bool? = nil, bytesUp: Int64? = nil, bytesDown: Int64? = nil,
            durationMs: Int64? = nil
        ) {
            self.time = time
            self.sourceIP = sourceIP
            self.host = host
            self.port = port
            self.verdict = allowed ? "allow" : "deny"
            self.rule = rule
            self.ruleName = ruleName
            self.revision = revision
            self.reason = reason
            self.originalDestination = originalDestination
            self.upstream = upstream
            self.cached = cached
            self.bytesUp = bytesUp
            self.bytesDown = bytesDown
            self.durationMs = durationMs
        }

        public var allowed: Bool { verdict == "allow" }
    }

    /// Connections an enforcer handled but whose records it dropped, its
    /// report buffer being full (the service was away too long): how many
    /// of each verdict, and when the first and the last were dropped.
    public struct Dropped: Codable, Sendable, Equatable {
        public var allowed: Int64
        public var refused: Int64
        /// Milliseconds since 1970.
        public var first: Int64
        public var last: Int64

        public init(allowed: Int64, refused: Int64, first: Int64, last: Int64) {
            self.allowed = allowed
            self.refused = refused
            self.first = first
            self.last = last
        }
    }

    public var connections: [Connection]
    /// Set when records were dropped since the last report the service took.
    public var dropped: Dropped?

    public init(connections: [Connection], dropped: Dropped? = nil) {
        self.connections = connections
        self.dropped = dropped
    }

    /// The most connections one report may carry.
    public static let maxConnections = 10_000
}

extension AccessReport {
    /// The answer to `POST /v1/access` (202): how many records were taken,
    /// and, when the report carried a `dropped` count, that count echoed back
    /// so that the enforcer knows it was recorded.
    public struct Accepted: Codable, Sendable, Equatable {
        public var accepted: Int
        public var dropped: Int64?

        public init(accepted: Int, dropped: Int64?) {
            self.accepted = accepted
            self.dropped = dropped
        }

        public var json: String { "{\"accepted\":\(accepted)" + (dropped.map { ",\"dropped\":\($0)" } ?? "") + "}" }
    }
}
