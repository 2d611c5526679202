import ClientHello
import Logging
import NIOCore
import NIOPosix

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

    /// What the gate decided, for the ledger and the proxy.
    struct Outcome: Sendable {
        var host = ""
        var ech = false
        var verdict: Verdict?
        var origin: VerdictCache.Origin?
        var denial: DenialReason?
        var upstream: Channel?
        var upstreamAddress: SocketAddress?
    }

    let cache: VerdictCache
    let resolver: NameResolver
    let settings: Settings
    let metrics: PEPMetrics?
    let logger: Logger

    public init(cache: VerdictCache, resolver: NameResolver, settings: Settings, metrics: PEPMetrics?, logger: Logger) {
        self.cache = cache
        self.resolver = resolver
        self.settings = settings
        self.metrics = metrics
        self.logger = logger
    }

    /// `expectedHost`: the CONNECT host the SNI must equal (explicit mode).
    func admit(
        _ hello: ClientHelloResult, sourceIP: String, port: Int, expectedHost: String?, eventLoop: EventLoop
    ) async -> Outcome {
        var outcome = Outcome()
        switch hello {
        case .notTLS:
            outcome.denial = .notTLS
            return outcome
        case .malformed:
            outcome.denial = .malformed
            return outcome
        case .noSNI(let ech):
            outcome.ech = ech
            outcome.denial = .noSNI
            return outcome
        case .sni(let host, let ech):
            outcome.host = host
            outcome.ech = ech
        }
        if outcome.ech && settings.refuseECH {
            outcome.denial = .echRefused
            return outcome
        }
        if let expectedHost, expectedHost != outcome.host {
            outcome.denial = .connectMismatch
            return outcome
        }
        let started = ContinuousClock.now
        do {
            let (verdict, origin) = try await cache.verdict(for: VerdictKey(sourceIP: sourceIP, host: outcome.host, port: port))
            metrics?.decisionLatency.recordNanoseconds(Int64((ContinuousClock.now - started).nanosecondsApprox))
            outcome.verdict = verdict
            outcome.origin = origin
        } catch {
            logger.warning("no verdict; refusing (fail closed)", metadata: ["host": "\(outcome.host)", "error": "\(error)"])
            outcome.denial = .pdpUnavailable
            return outcome
        }
        guard outcome.verdict?.allow == true else {
            outcome.denial = .policy
            return outcome
        }
        let addresses: [SocketAddress]
        do {
            addresses = try await resolver.resolve(outcome.host, port: port)
        } catch {
            outcome.denial = .unresolvable
            return outcome
        }
        if let inward = addresses.first(where: { address in settings.internalRanges.contains { $0.contains(address) } }) {
            logger.warning("a name resolves inward; refused", metadata: ["host": "\(outcome.host)", "address": "\(inward)"])
            outcome.upstreamAddress = inward
            outcome.denial = .inward
            return outcome
        }
        for address in addresses {
            do {
                outcome.upstream = try await ClientBootstrap(group: eventLoop)
                    .connectTimeout(settings.connectTimeout)
                    .channelOption(.autoRead, value: false)
                    .channelOption(.socketOption(.tcp_nodelay), value: 1)
                    .connect(to: address).get()
                outcome.upstreamAddress = address
                return outcome
            } catch {
                logger.info("upstream connect failed", metadata: ["host": "\(outcome.host)", "address": "\(address)", "error": "\(error)"])
            }
        }
        outcome.denial = .upstreamFailed
        return outcome
    }
}

extension Duration {
    var nanosecondsApprox: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) * 1e9 + Double(attoseconds) / 1e9
    }
}
