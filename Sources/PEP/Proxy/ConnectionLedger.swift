import EnforcerCore
import Foundation
import NIOCore

/// What is known about one workload connection, filled in as it goes and
/// reported when it closes. Used only on the connection's event loop (the
/// workload's channel and its upstream share one).
final class ConnectionLedger {
    let started = NIODeadline.now()
    let startedWallMs: Int64
    let sourceIP: String
    let originalDestination: SocketAddress?
    var port: Int
    var host = ""
    var ech = false
    var verdict: Verdict?
    var origin: VerdictCache.Origin?
    var denial: DenialReason?
    var upstream: SocketAddress?
    var bytesUp: Int64 = 0
    var bytesDown: Int64 = 0
    var idleClosed = false
    /// When either side of the spliced connection last read something.
    var lastActivity = NIODeadline.uptimeNanoseconds(0)
    private var reported = false
    /// Plain-HTTP requests recorded on their own: a connection that carried
    /// any is not recorded again as a connection.
    var requests = 0

    init(sourceIP: String, originalDestination: SocketAddress?, port: Int, wallClockMs: Int64) {
        self.sourceIP = sourceIP
        self.originalDestination = originalDestination
        self.port = port
        startedWallMs = wallClockMs
    }

    /// The record for the audit trail, once: nil if it was already taken.
    func takeRecord() -> AccessRecord? {
        guard !reported else { return nil }
        reported = true
        guard requests == 0 else { return nil }
        if denial == nil, verdict == nil { denial = .abandoned }
        var reason = denial?.rawValue ?? (idleClosed ? DenialReason.idleTimeout.rawValue : nil)
        if ech, denial != .echRefused { reason = reason.map { "\($0)+ech" } ?? "ech" }
        return AccessRecord(
            time: startedWallMs, sourceIP: sourceIP, host: host, port: port, allowed: denial == nil && verdict?.allow == true,
            rule: verdict?.rule, ruleName: verdict?.name, revision: verdict?.revision, reason: reason,
            originalDestination: originalDestination.map(Self.text), upstream: upstream.map(Self.text),
            cached: origin.map { $0 != .miss }, bytesUp: bytesUp, bytesDown: bytesDown,
            durationMs: (NIODeadline.now() - started).nanoseconds / 1_000_000)
    }

    static func text(_ address: SocketAddress) -> String {
        guard let ip = address.ipAddress, let port = address.port else { return "\(address)" }
        return address.protocol == .inet6 ? "[\(ip)]:\(port)" : "\(ip):\(port)"
    }
}


