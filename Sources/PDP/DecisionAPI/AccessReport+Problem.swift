import EgressAPI
import Foundation

extension AccessReport {
    /// The most records one report may say were dropped, of each verdict.
    static let maxDropped: Int64 = 1 << 40

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
            if let status = c.status, !(100...599).contains(status) { return "connections[\(i)].status is outside 100-599" }
            if (c.method?.utf8.count ?? 0) > 32 || (c.path?.utf8.count ?? 0) > 4096 {
                return "connections[\(i)].method or path is longer than 32 or 4096 bytes"
            }
            if (c.queryType?.utf8.count ?? 0) > 16 { return "connections[\(i)].queryType is longer than 16 bytes" }
            if let count = c.count, !(1...Self.maxDropped).contains(count) {
                return "connections[\(i)].count must be between 1 and \(Self.maxDropped)"
            }
            let texts: [(String, String?)] = [
                ("sourceIP", c.sourceIP), ("host", c.host), ("rule", c.rule), ("ruleName", c.ruleName), ("reason", c.reason),
                ("originalDestination", c.originalDestination), ("upstream", c.upstream), ("method", c.method), ("path", c.path),
                ("queryType", c.queryType),
            ]
            for case let (name, text?) in texts {
                if let problem = PrintableText.problem(text, field: "connections[\(i)].\(name)") { return problem }
            }
        }
        if let dropped {
            // No arithmetic on the numbers before they are bounded: an
            // overflow would stop the service.
            let countRange: ClosedRange<Int64> = 0...Self.maxDropped
            if !countRange.contains(dropped.allowed) || !countRange.contains(dropped.refused) {
                return "dropped.allowed and dropped.refused must be between 0 and \(Self.maxDropped)"
            }
            if dropped.allowed == 0 && dropped.refused == 0 { return "dropped must count at least one record" }
            if dropped.first < 0 { return "dropped.first must be milliseconds since 1970, not negative" }
            if dropped.last < dropped.first { return "dropped.last is before dropped.first" }
        }
        return nil
    }
}
