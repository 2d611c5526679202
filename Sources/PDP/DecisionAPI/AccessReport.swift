import Foundation

/// `POST /v1/access`: connections an enforcer handled, cache hits included.
struct AccessReport: Decodable, Sendable {
    struct Connection: Decodable, Sendable {
        /// Milliseconds since 1970; the time of the report when missing.
        var time: Int64?
        /// The workload's address; the service resolves it in the inventory.
        var sourceIP: String
        /// The SNI (or CONNECT host); empty when there was none.
        var host: String
        var port: Int
        var verdict: String
        var rule: String?
        var ruleName: String?
        var revision: Int64?
        /// Why it was refused (`no-sni`, `not-tls`, `unresolvable`, ...), if it was.
        var reason: String?
        /// Where the workload tried to go, and where the enforcer went instead.
        var originalDestination: String?
        var upstream: String?
        var bytesUp: Int64?
        var bytesDown: Int64?
        var durationMs: Int64?
        /// Whether the verdict came from the enforcer's cache.
        var cached: Bool?
    }

    var connections: [Connection]

    static let maxConnections = 10_000

    /// What is wrong with the report, if anything.
    func problem() -> String? {
        if connections.count > Self.maxConnections {
            return "at most \(Self.maxConnections) connections per report, got \(connections.count)"
        }
        for (i, c) in connections.enumerated() {
            if IPAddressText.normalize(c.sourceIP) == nil { return "connections[\(i)].sourceIP is not an IP address" }
            if !(0...65535).contains(c.port) { return "connections[\(i)].port is outside 0-65535" }
            if c.verdict != "allow" && c.verdict != "deny" { return "connections[\(i)].verdict must be 'allow' or 'deny'" }
            if c.host.utf8.count > 255 { return "connections[\(i)].host is longer than a DNS name can be" }
        }
        return nil
    }
}
