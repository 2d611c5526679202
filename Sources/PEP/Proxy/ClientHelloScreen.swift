import ClientHello
import EnforcerCore

/// What a ClientHello decides on its own, before any verdict is asked: a
/// connection that is not TLS, has no SNI, hides it behind ECH (when that is
/// refused) or names another host than its CONNECT is refused here; any
/// other gives the host whose verdict is asked.
enum ClientHelloScreen {
    enum Result: Equatable {
        case refused(DenialReason)
        case host(String)
    }

    /// `expectedHost`: the CONNECT host the SNI must equal (explicit mode).
    static func screen(_ hello: ClientHelloResult, expectedHost: String?, refuseECH: Bool) -> Result {
        switch hello {
        case .notTLS:
            return .refused(.notTLS)
        case .malformed:
            return .refused(.malformed)
        case .noSNI:
            return .refused(.noSNI)
        case .sni(let host, let ech):
            if ech && refuseECH { return .refused(.echRefused) }
            if let expectedHost, expectedHost != host { return .refused(.connectMismatch) }
            return .host(host)
        }
    }
}
