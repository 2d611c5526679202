import EnforcerCore
import ClientHello
import Logging
import NIOCore

/// Decides what happens to a connection once its ClientHello is read: the
/// verdict for (source, SNI, port), then, on allow, the SNI's own addresses
/// (never the destination the workload chose) checked against the internal
/// ranges, then a connection to the first address that takes it.
public final class EgressGate: Sendable {
    public struct Settings: Sendable {
        public var internalRanges: [AddressRange]
        public var refuseECH: Bool
        public var connectTimeout: TimeAmount

        public init(internalRanges: [AddressRange], refuseECH: Bool, connectTimeout: TimeAmount) {
            self.internalRanges = internalRanges
            self.refuseECH = refuseECH
            self.connectTimeout = connectTimeout
        }
    }

    /// What the gate decided, for the ledger and the proxy: a denial, or the
    /// addresses to try.
    struct Outcome: Sendable {
        var host = ""
        var ech = false
        var verdict: Verdict?
        var origin: VerdictCache.Origin?
        var denial: DenialReason?
        var addresses: [SocketAddress] = []
        /// Set on `inward`: the internal address the name led to.
        var inwardAddress: SocketAddress?
    }

    let cache: VerdictCache
    let resolver: NameResolver
    let settings: Settings
    let metrics: PEPMetrics?
    let logger: Logger
    private let connector: UpstreamConnector
    /// Refusals a workload can cause at will are logged at most every 10 s
    /// per kind (the rest still count in metrics and the audit trail).
    private let throttle = LogThrottle()

    public init(cache: VerdictCache, resolver: NameResolver, settings: Settings, metrics: PEPMetrics?, logger: Logger) {
        self.cache = cache
        self.resolver = resolver
        self.settings = settings
        self.metrics = metrics
        self.logger = logger
        connector = UpstreamConnector(timeout: settings.connectTimeout, logger: logger)
    }

    /// The outcome without waiting, when the hello alone decides or both the
    /// verdict and the name's addresses are cached: the common case for a
    /// busy workload, decided on the connection's event loop. Nil otherwise.
    func admitNow(_ hello: ClientHelloResult, sourceIP: String, port: Int, expectedHost: String?) -> Outcome? {
        let started = ContinuousClock.now
        var outcome = Outcome()
        if screen(hello, expectedHost: expectedHost, into: &outcome) { return outcome }
        guard let addresses = resolver.cached(outcome.host, port: port),
            let verdict = cache.cachedVerdict(for: VerdictKey(sourceIP: sourceIP, host: outcome.host, port: port))
        else { return nil }
        outcome.verdict = verdict
        outcome.origin = .hit
        metrics?.core.decisionLatency.recordNanoseconds(Int64((ContinuousClock.now - started).nanosecondsApprox))
        guard verdict.allow else {
            outcome.denial = .policy
            return outcome
        }
        check(addresses, into: &outcome)
        return outcome
    }

    private func warn(_ message: Logger.Message, _ metadata: Logger.Metadata) {
        guard let heldBack = throttle.admit(message.description) else { return }
        var metadata = metadata
        if heldBack > 0 { metadata["held_back"] = "\(heldBack)" }
        logger.warning(message, metadata: metadata)
    }

    /// `expectedHost`: the CONNECT host the SNI must equal (explicit mode).
    func admit(_ hello: ClientHelloResult, sourceIP: String, port: Int, expectedHost: String?) async -> Outcome {
        var outcome = Outcome()
        if screen(hello, expectedHost: expectedHost, into: &outcome) { return outcome }
        let started = ContinuousClock.now
        do {
            let (verdict, origin) = try await cache.verdict(for: VerdictKey(sourceIP: sourceIP, host: outcome.host, port: port))
            metrics?.core.decisionLatency.recordNanoseconds(Int64((ContinuousClock.now - started).nanosecondsApprox))
            outcome.verdict = verdict
            outcome.origin = origin
        } catch {
            warn("no verdict; refusing (fail closed)", ["host": "\(outcome.host)", "error": "\(error)"])
            outcome.denial = .pdpUnavailable
            return outcome
        }
        guard outcome.verdict?.allow == true else {
            outcome.denial = .policy
            return outcome
        }
        do {
            check(try await resolver.resolve(outcome.host, port: port), into: &outcome)
        } catch let timeout as NameResolver.Timeout {
            // Every uncached name fails this way while DNS is down: say so.
            warn("DNS did not answer; refusing", ["host": "\(outcome.host)", "error": "\(timeout)"])
            outcome.denial = .unresolvable
        } catch let busy as NameResolver.Busy {
            warn("DNS is behind; refusing", ["host": "\(outcome.host)", "error": "\(busy)"])
            outcome.denial = .unresolvable
        } catch {
            outcome.denial = .unresolvable
        }
        return outcome
    }

    /// What the ClientHello alone decides. True when it refuses.
    private func screen(_ hello: ClientHelloResult, expectedHost: String?, into outcome: inout Outcome) -> Bool {
        switch hello {
        case .notTLS:
            outcome.denial = .notTLS
        case .malformed:
            outcome.denial = .malformed
        case .noSNI(let ech):
            outcome.ech = ech
            outcome.denial = .noSNI
        case .sni(let host, let ech):
            outcome.host = host
            outcome.ech = ech
            if ech && settings.refuseECH {
                outcome.denial = .echRefused
            } else if let expectedHost, expectedHost != host {
                outcome.denial = .connectMismatch
            }
        }
        return outcome.denial != nil
    }

    /// Refuses the name if any of its addresses is internal: one such record
    /// is enough for a name to lead inward.
    private func check(_ addresses: [SocketAddress], into outcome: inout Outcome) {
        if let inward = addresses.first(where: { address in settings.internalRanges.contains { $0.contains(address) } }) {
            warn("a name resolves inward; refused", ["host": "\(outcome.host)", "address": "\(inward)"])
            outcome.inwardAddress = inward
            outcome.denial = .inward
        } else {
            outcome.addresses = addresses
        }
    }

    /// Opens the upstream: the first of `addresses` that takes `bytes` (the
    /// held ClientHello and what followed it), on the workload connection's
    /// own event loop, so that splicing never hops. See `UpstreamConnector`.
    func open(
        _ addresses: [SocketAddress], sending bytes: ByteBuffer, host: String, on eventLoop: EventLoop,
        while wanted: @escaping @Sendable () -> Bool
    ) -> EventLoopFuture<UpstreamConnector.Upstream> {
        connector.open(addresses[...], sending: bytes, host: host, on: eventLoop, while: wanted)
    }
}

extension Duration {
    var nanosecondsApprox: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) * 1e9 + Double(attoseconds) / 1e9
    }
}
