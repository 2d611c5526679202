import EnforcerCore
import Logging
import NIOCore

/// Decides what happens to a connection once the enforcer knows what it
/// asks for (an `EgressIntent`, whatever protocol it was read from): the
/// verdict for (source, host, port), then, on allow, the host's own
/// addresses (never the destination the workload chose) checked against the
/// internal ranges, then a connection to the first address that takes it.
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
        var host: String
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

    /// The outcome without waiting, when both the verdict and the name's
    /// addresses are cached: the common case for a busy workload, decided on
    /// the connection's event loop. Nil otherwise.
    func admitNow(_ intent: EgressIntent) -> Outcome? {
        let started = ContinuousClock.now
        guard let addresses = resolver.cached(intent.host, port: intent.port),
            let verdict = cache.cachedVerdict(for: intent.verdictKey)
        else { return nil }
        var outcome = Outcome(host: intent.host, verdict: verdict, origin: .hit)
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

    /// The outcome, asking the decision service and the resolver as needed.
    func admit(_ intent: EgressIntent) async -> Outcome {
        var outcome = Outcome(host: intent.host)
        let port = intent.port
        let started = ContinuousClock.now
        do {
            let (verdict, origin) = try await cache.verdict(for: intent.verdictKey)
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
