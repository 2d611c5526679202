import EnforcerCore
import NIOCore
import NIOHTTP1

/// One plain-HTTP request and its answer, as the audit trail records it:
/// which workload called which URL, what was decided, what came back.
struct HTTPExchange {
    let started = NIODeadline.now()
    let startedWallMs = wallClockMilliseconds()
    let sourceIP: String
    let method: String?
    /// The path, its query dropped unless `--log-query`.
    let path: String?
    var host = ""
    var port = 443
    var verdict: Verdict?
    var origin: VerdictCache.Origin?
    /// The upstream's address, as records write it.
    var upstream: String?
    var status: Int?
    var bytesUp: Int64 = 0
    var bytesDown: Int64 = 0
    /// HTTP/1.0 without keep-alive, or `Connection: close`: the connection ends with this answer.
    let closeAfter: Bool

    init(head: HTTPRequestHead?, sourceIP: String, logQuery: Bool) {
        self.sourceIP = sourceIP
        method = head.map { $0.method.rawValue }
        let target = head.map { HTTPRequestScreen.originForm($0.uri) }
        path = target.map { logQuery ? $0 : String($0.prefix { $0 != "?" }) }.map { String($0.prefix(2048)) }
        closeAfter = head.map { !$0.isKeepAlive } ?? true
    }

    func record(reason: DenialReason?) -> AccessRecord {
        var record = AccessRecord(
            time: startedWallMs, sourceIP: sourceIP, host: host, port: port,
            allowed: reason == nil && verdict?.allow == true, rule: verdict?.rule, ruleName: verdict?.name,
            revision: verdict?.revision, reason: reason?.rawValue, originalDestination: nil,
            upstream: upstream, cached: origin.map { $0 != .miss }, bytesUp: bytesUp,
            bytesDown: bytesDown, durationMs: (NIODeadline.now() - started).nanoseconds / 1_000_000)
        record.method = method
        record.path = path
        record.status = status
        return record
    }
}
