import ArgumentParser
import EgressAPI
import Foundation

struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Query the audit trail, follow it, or verify its hash chain.",
        subcommands: [Query.self, Verify.self],
        defaultSubcommand: Query.self)

    struct Query: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print audit records, oldest first.",
            discussion: "Times are milliseconds since 1970 or ISO 8601 (2026-11-26T10:00:00Z).")

        @OptionGroup var connection: ServerOptions
        @Option(help: "Only this source address.") var sourceIp: String?
        @Option(help: "Only this namespace.") var namespace: String?
        @Option(help: "Only this pod.") var pod: String?
        @Option(help: "Only this host.") var host: String?
        @Option(help: "Only allow or deny.") var verdict: String?
        @Option(help: "From this time on.") var since: String?
        @Option(help: "Before this time.") var until: String?
        @Option(help: "At most this many records (without --follow).") var limit: Int = 100
        @Flag(help: "Keep printing new records as they are written.") var follow = false
        @Flag(help: "Print JSON lines.") var json = false

        func validate() throws {
            if let verdict, verdict != "allow", verdict != "deny" { throw ValidationError("--verdict is allow or deny") }
            _ = try since.map(Self.milliseconds)
            _ = try until.map(Self.milliseconds)
        }

        static func milliseconds(_ text: String) throws -> Int64 {
            if let number = Int64(text) { return number }
            let formatter = ISO8601DateFormatter()
            if let date = formatter.date(from: text) { return Int64(date.timeIntervalSince1970 * 1000) }
            formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            if let date = formatter.date(from: text) { return Int64(date.timeIntervalSince1970 * 1000) }
            throw ValidationError("expected milliseconds since 1970 or an ISO 8601 time, got '\(text)'")
        }

        func run() async throws {
            let client = try connection.client()
            try await reportingClientErrors {
                var after: Int64?
                var printed = 0
                while true {
                    var query: [URLQueryItem] = []
                    func add(_ name: String, _ value: String?) { if let value { query.append(URLQueryItem(name: name, value: value)) } }
                    add("sourceIP", sourceIp)
                    add("namespace", namespace)
                    add("pod", pod)
                    add("host", host)
                    add("verdict", verdict)
                    add("since", try since.map { String(try Self.milliseconds($0)) })
                    add("until", try until.map { String(try Self.milliseconds($0)) })
                    add("after", after.map(String.init))
                    add("limit", String(follow ? 1000 : min(limit - printed, 10_000)))
                    let page = try await client.get("v1/audit", query: query, as: AuditPage.self)
                    for record in page.records { try print(record) }
                    printed += page.records.count
                    after = page.records.last?.seq ?? after
                    if follow {
                        if page.next == nil { try await Task.sleep(for: .seconds(1)) }
                    } else if page.next == nil || printed >= limit {
                        return
                    }
                }
            }
        }

        func print(_ r: AuditRecord) throws {
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
                return StandardStreams.out(String(decoding: try encoder.encode(r), as: UTF8.self) + "\n")
            }
            if r.kind == .dropped {
                // Not a connection: how many records the enforcer could not keep.
                let verdicts = r.verdict == "allow" ? "allowed" : "refused"
                return StandardStreams.out(
                    "\(r.seq ?? 0)\t\(isoTime(r.time))\t\(r.kind.rawValue)\t\(r.verdict)\t\(r.count ?? 0) records of \(verdicts) "
                        + "connections dropped over \(Double(r.durationMs ?? 0) / 1000) s\t\(r.enforcer)\t\(r.reason ?? "")\n")
            }
            let who = r.namespace.map { "\($0)/\(r.pod ?? "?")" } ?? "unknown"
            let rule = r.rule.map { " by \($0)\(r.ruleName.map { " (\($0))" } ?? "")" } ?? ""
            let request = r.method.map { "\($0) \(r.path ?? "") -> \(r.status.map(String.init) ?? "-")" }
            let query = r.queryType.map { type in "DNS \(type)" + (r.count.map { " x\($0) over \(Double(r.durationMs ?? 0) / 1000) s" } ?? "") }
            let extra = [request, query, r.reason, r.cached == true ? "cached" : nil].compactMap { $0 }.joined(separator: ", ")
            StandardStreams.out(
                "\(r.seq ?? 0)\t\(isoTime(r.time))\t\(r.kind.rawValue)\t\(r.verdict)\t\(who) (\(r.sourceIP ?? "-")) -> \(r.host):\(r.port)\(rule)\t\(r.enforcer)\(extra.isEmpty ? "" : "\t\(extra)")\n")
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Recompute the audit hash chain; exit 1 if any record was changed, removed or reordered.",
            discussion: """
                Every break is printed, not only the first. The trail must also reach the service's
                own head: one emptied or cut short while the service runs does not verify. To catch
                the same after a restart, record the printed head elsewhere (or scrape the metric
                egress_pdp_audit_head_info) and pass it back with --head.
                """)
        @OptionGroup var connection: ServerOptions
        @Option(help: "A head recorded earlier, SEQ:HASH: the trail must still hold that record with that hash.")
        var head: String?

        func validate() throws { _ = try head.map(Self.parseHead) }

        static func parseHead(_ text: String) throws -> (seq: Int64, hash: String) {
            let parts = text.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 2, let seq = Int64(parts[0]), seq >= 0, parts[1].count == 64, parts[1].allSatisfy(\.isHexDigit) else {
                throw ValidationError("--head is SEQ:HASH, a record number and its 64-hex-digit hash; got '\(text)'")
            }
            return (seq, String(parts[1]))
        }

        func run() async throws {
            let client = try connection.client()
            var query: [URLQueryItem] = []
            if let head = try head.map(Self.parseHead) {
                query = [URLQueryItem(name: "headSeq", value: String(head.seq)), URLQueryItem(name: "headHash", value: head.hash)]
            }
            try await reportingClientErrors {
                let result = try await client.get("v1/audit/verify", query: query, as: AuditVerification.self)
                if result.valid {
                    StandardStreams.out(
                        "audit chain intact: \(result.records) records (\(result.firstSeq.map(String.init) ?? "-")...\(result.lastSeq.map(String.init) ?? "-")), head \(result.lastSeq ?? result.anchorSeq ?? 0):\(result.head)\n")
                    return
                }
                let breaks = result.breaks ?? [.init(seq: result.brokenAt ?? 0, problem: result.problem ?? "")]
                let count = result.breakCount ?? breaks.count
                StandardStreams.out("audit chain BROKEN in \(count) place\(count == 1 ? "" : "s") (\(result.records) records read):\n")
                for item in breaks { StandardStreams.out("  record \(item.seq): \(item.problem)\n") }
                if count > breaks.count { StandardStreams.out("  ... and \(count - breaks.count) more\n") }
                throw ExitCode(1)
            }
        }
    }
}
