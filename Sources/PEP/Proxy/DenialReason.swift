import EnforcerCore
/// Why a connection was refused, as recorded in the audit trail (`reason`)
/// and counted in metrics. docs/pep.md explains each.
public enum DenialReason: String, CaseIterable, Sendable {
    /// The policy denies this source this host.
    case policy
    /// A TLS ClientHello without a server name.
    case noSNI = "no-sni"
    /// The first bytes were not TLS.
    case notTLS = "not-tls"
    /// A ClientHello that breaks the TLS rules (or is larger than 64 KiB).
    case malformed
    /// No complete ClientHello within the time limit.
    case helloTimeout = "hello-timeout"
    /// Encrypted ClientHello refused by `--refuse-ech`.
    case echRefused = "ech-refused"
    /// The CONNECT host differs from the SNI that followed.
    case connectMismatch = "connect-mismatch"
    /// A CONNECT request that could not be read, or another method.
    case badConnect = "bad-connect"
    /// The name does not resolve.
    case unresolvable
    /// The name resolves into an internal range (cluster, gateway, private).
    case inward
    /// The decision service could not be asked and no stale verdict was allowed.
    case pdpUnavailable = "pdp-unavailable"
    /// Allowed, but no address of the name accepted the connection in time.
    case upstreamFailed = "upstream-failed"
    /// Over `--max-connections`.
    case capacity
    /// Its source address holds `--max-connections-per-source` already.
    case sourceShare = "source-share"
    /// The workload closed the connection before its ClientHello was complete.
    case abandoned
    /// A plain HTTP request whose framing or host cannot be trusted (400).
    case badRequest = "bad-request"
    /// A request for another host than its connection's upstream (421).
    case misdirected
    /// The upstream's TLS failed: certificate, name or version (502).
    case upstreamTLS = "upstream-tls"
    /// A plain-HTTP request in flight saw nothing move for the idle timeout.
    case idleTimeout = "idle-timeout"
}

extension DenialReason {
    /// The body of an HTTP refusal by policy (CONNECT and plain HTTP alike):
    /// what was denied, and by which rule or that none allowed it.
    static func policyText(_ target: String, rule: String?) -> String {
        "egress to \(target) is denied\(rule.map { " by \($0)" } ?? " (no rule allows it)")\n"
    }

    /// The body of an HTTP refusal when the decision service cannot be asked.
    static let unavailableText = "the egress policy cannot be checked now; refused\n"
}
