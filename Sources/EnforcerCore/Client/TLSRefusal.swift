import NIOConcurrencyHelpers
import NIOCore

/// Whether the decision service ended a connection's TLS session with an
/// alert. A service that rejects this enforcer's client certificate (expired,
/// from another CA, missing) sends one, during the handshake or, with TLS
/// 1.3, just after it; the requests on the connection then only see it
/// close. Told apart from a network failure, it is obeyed: no stale verdict.
final class TLSRefusal: Sendable {
    private let recorded = NIOLockedValueBox<String?>(nil)

    /// The alert, as BoringSSL names it, if one came.
    var alert: String? { recorded.withLockedValue { $0 } }

    /// Throws `PDPClient.Rejected` if the service refused the certificate.
    func throwIfRefused(_ path: String) throws {
        if let alert {
            throw PDPClient.Rejected(description: "\(path): the decision service refused this enforcer's client certificate: \(alert)")
        }
    }

    /// The alerts a server sends about a client certificate. Others (an
    /// internal error, a protocol mismatch, a generic handshake failure)
    /// may come from an outage, say a TLS proxy in front of a service that
    /// is down, and stay outages.
    static let certificateAlerts = [
        "_ALERT_BAD_CERTIFICATE", "_ALERT_UNSUPPORTED_CERTIFICATE", "_ALERT_CERTIFICATE_REVOKED", "_ALERT_CERTIFICATE_EXPIRED",
        "_ALERT_CERTIFICATE_UNKNOWN", "_ALERT_UNKNOWN_CA", "_ALERT_ACCESS_DENIED", "_ALERT_CERTIFICATE_REQUIRED",
    ]

    /// A handler to put right after the TLS handler: it notes an alert from
    /// the peer among the errors that go by, and passes every error on.
    func recorder() -> Recorder { Recorder(refusal: self) }

    final class Recorder: ChannelInboundHandler, Sendable {
        typealias InboundIn = NIOAny
        private let refusal: TLSRefusal

        init(refusal: TLSRefusal) { self.refusal = refusal }

        func errorCaught(context: ChannelHandlerContext, error: Error) {
            // BoringSSL names an alert it received `..._ALERT_...`
            // (`TLSV1_ALERT_CERTIFICATE_REQUIRED`, `SSLV3_ALERT_BAD_CERTIFICATE`);
            // a failure of its own, such as the service's certificate not
            // verifying, has another name.
            let text = String(describing: error)
            if TLSRefusal.certificateAlerts.contains(where: { text.contains($0) }) {
                refusal.recorded.withLockedValue { $0 = $0 ?? text }
            }
            context.fireErrorCaught(error)
        }
    }
}
