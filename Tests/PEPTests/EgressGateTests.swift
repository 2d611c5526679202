import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing

@testable import EnforcerCore
@testable import PEP

/// The gate on a neutral intent: verdict, resolution, the inward check. The
/// verdicts come from a plain function given to the cache (the decision
/// service itself is exercised in EnforcerClientTests); names are resolved
/// by the real getaddrinfo, and `localhost` comes from /etc/hosts.
@Suite struct EgressGateTests {
    /// Answers with a verdict per host, or fails like an unreachable service.
    final class Verdicts: Sendable {
        let asked = NIOLockedValueBox(0)
        let reachable: Bool
        init(reachable: Bool = true) { self.reachable = reachable }
        func fetch(_ key: VerdictKey) async throws -> Verdict {
            asked.withLockedValue { $0 += 1 }
            guard reachable else { throw PDPClient.Unavailable(description: "down") }
            return Verdict(allow: key.host == "localhost", rule: "r.egress:1", name: nil, revision: 1, ttl: 60)
        }
    }

    static func gate(_ verdicts: Verdicts, inward: [String] = [], pool: NIOThreadPool) throws -> EgressGate {
        let ranges = try inward.map(AddressRange.init(parsing:))
        return EgressGate(
            cache: VerdictCache(capacity: 16, fetch: verdicts.fetch), resolver: NameResolver(pool: pool, timeout: .seconds(5)),
            settings: .init(internalRanges: ranges, refuseECH: false, connectTimeout: .seconds(1)),
            metrics: nil, logger: Logger(label: "gate-test"))
    }

    static func intent(_ host: String) -> EgressIntent {
        EgressIntent(sourceIP: "198.18.0.2", host: host, port: 443, transport: .tls)
    }

    @Test func anAllowedNameGivesItsOwnAddresses() async throws {
        try await HelloPeekHandlerTests.withPool { pool in
            let gate = try Self.gate(Verdicts(), pool: pool)
            #expect(gate.admitNow(Self.intent("localhost")) == nil, "nothing is cached yet")
            let outcome = await gate.admit(Self.intent("localhost"))
            #expect(outcome.denial == nil)
            #expect(outcome.origin == .miss)
            #expect(outcome.addresses.contains { $0.ipAddress == "127.0.0.1" && $0.port == 443 })
            // Now both the verdict and the addresses are cached.
            let now = try #require(gate.admitNow(Self.intent("localhost")))
            #expect(now.origin == .hit && now.denial == nil && now.addresses == outcome.addresses)
        }
    }

    @Test func aDeniedNameIsNotResolved() async throws {
        try await HelloPeekHandlerTests.withPool { pool in
            let gate = try Self.gate(Verdicts(), pool: pool)
            let outcome = await gate.admit(Self.intent("evil.example"))
            #expect(outcome.denial == .policy)
            #expect(outcome.verdict?.allow == false)
            #expect(outcome.addresses.isEmpty)
            #expect(gate.resolver.cached("evil.example", port: 443) == nil)
        }
    }

    @Test func noVerdictFailsClosed() async throws {
        try await HelloPeekHandlerTests.withPool { pool in
            let gate = try Self.gate(Verdicts(reachable: false), pool: pool)
            let outcome = await gate.admit(Self.intent("localhost"))
            #expect(outcome.denial == .pdpUnavailable)
            #expect(outcome.verdict == nil)
        }
    }

    @Test func aNameThatLeadsInwardIsRefused() async throws {
        try await HelloPeekHandlerTests.withPool { pool in
            let gate = try Self.gate(Verdicts(), inward: ["127.0.0.0/8", "::1/128"], pool: pool)
            let outcome = await gate.admit(Self.intent("localhost"))
            #expect(outcome.denial == .inward)
            #expect(outcome.inwardAddress?.ipAddress == "127.0.0.1" || outcome.inwardAddress?.ipAddress == "::1")
            #expect(outcome.addresses.isEmpty)
        }
    }
}
