import ClientHello
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import NIOPosix
import Testing
import TestSupport

@testable import EnforcerCore
@testable import PEP

/// The first handler of a workload connection on an embedded channel: every
/// refusal, the alert a TLS client gets, the deadline and the half-close,
/// without sockets or root. Verdicts come from a plain function given to the
/// cache (the decision service is exercised in EnforcerClientTests) and are
/// cached before the hello arrives, so that the handler decides at once on
/// the embedded event loop. The allowed path, which opens a real upstream,
/// is pep-e2e's.
@Suite struct HelloPeekHandlerTests {
    static let accessDenied = ByteBuffer(bytes: HelloPeekHandler.accessDeniedAlert)

    final class Verdicts: Sendable {
        let allowed: Set<String>
        init(allowed: Set<String>) { self.allowed = allowed }
        func fetch(_ key: VerdictKey) async throws -> Verdict {
            Verdict(allow: allowed.contains(key.host), rule: "r.egress:1", name: "r", revision: 3, ttl: 60)
        }
    }

    /// A gate whose cache already holds the verdict and the addresses of
    /// `localhost`.
    static func warmGate(allowed: Set<String>, inward: [String] = [], refuseECH: Bool = false, pool: NIOThreadPool) async throws -> EgressGate {
        let ranges = try inward.map(AddressRange.init(parsing:))
        let gate = EgressGate(
            cache: VerdictCache(capacity: 16, fetch: Verdicts(allowed: allowed).fetch),
            resolver: NameResolver(pool: pool, timeout: .seconds(5)),
            settings: .init(internalRanges: ranges, refuseECH: refuseECH, connectTimeout: .seconds(1)),
            metrics: nil, logger: Logger(label: "peek-test"))
        _ = try await gate.resolver.resolve("localhost", port: 443)
        _ = try await gate.cache.verdict(for: VerdictKey(sourceIP: "198.18.0.2", host: "localhost", port: 443))
        return gate
    }

    /// One workload connection with the peek handler at its head.
    struct Connection {
        let loop = EmbeddedEventLoop()
        let channel: EmbeddedChannel
        let ledger = ConnectionLedger(sourceIP: "198.18.0.2", originalDestination: nil, port: 443, wallClockMs: 0)
        let handler: HelloPeekHandler

        init(gate: EgressGate, expectedHost: String? = nil) throws {
            channel = EmbeddedChannel(loop: loop)
            handler = HelloPeekHandler(
                ledger: ledger, gate: gate, expectedHost: expectedHost, helloTimeout: .seconds(10), idleTimeout: .seconds(60),
                sweeper: DeadlineSweeper(eventLoop: loop, tick: .seconds(1)))
            try channel.pipeline.syncOperations.addHandler(handler)
            try channel.connect(to: SocketAddress(ipAddress: "198.18.0.2", port: 40000)).wait()
        }

        func send(_ bytes: [UInt8]) throws {
            try channel.writeInbound(ByteBuffer(bytes: bytes))
        }

        /// Everything written to the workload.
        func written() throws -> [ByteBuffer] {
            var out: [ByteBuffer] = []
            while let buffer = try channel.readOutbound(as: ByteBuffer.self) { out.append(buffer) }
            return out
        }
    }

    static func withPool<T>(_ body: (NIOThreadPool) async throws -> T) async throws -> T {
        let pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
        do {
            let result = try await body(pool)
            try await pool.shutdownGracefully()
            return result
        } catch {
            try? await pool.shutdownGracefully()
            throw error
        }
    }

    @Test func plainTextIsClosedWithoutAnAlert() async throws {
        try await Self.withPool { pool in
            let connection = try Connection(gate: try await Self.warmGate(allowed: ["localhost"], pool: pool))
            try connection.send(Array("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n".utf8))
            #expect(try connection.written().isEmpty)
            #expect(!connection.channel.isActive)
            #expect(connection.ledger.denial == .notTLS)
        }
    }

    @Test func aHelloWithoutSNIGetsAccessDenied() async throws {
        try await Self.withPool { pool in
            let connection = try Connection(gate: try await Self.warmGate(allowed: ["localhost"], pool: pool))
            try connection.send(HelloBuilder().bytes)
            #expect(try connection.written() == [Self.accessDenied])
            #expect(!connection.channel.isActive)
            #expect(connection.ledger.denial == .noSNI)
        }
    }

    @Test func aPolicyDenialGetsAccessDeniedAndNamesTheRule() async throws {
        try await Self.withPool { pool in
            let connection = try Connection(gate: try await Self.warmGate(allowed: [], pool: pool))
            let hello = HelloBuilder(host: "localhost").bytes
            // In two pieces: nothing happens until the hello is whole.
            try connection.send(Array(hello[..<20]))
            #expect(try connection.written().isEmpty)
            #expect(connection.channel.isActive)
            try connection.send(Array(hello[20...]))
            #expect(try connection.written() == [Self.accessDenied])
            #expect(!connection.channel.isActive)
            #expect(connection.ledger.denial == .policy)
            #expect(connection.ledger.host == "localhost")
            let record = try #require(connection.ledger.takeRecord())
            #expect(!record.allowed && record.rule == "r.egress:1" && record.reason == "policy" && record.cached == true)
        }
    }

    @Test func anAllowedNameThatLeadsInwardIsRefused() async throws {
        try await Self.withPool { pool in
            let gate = try await Self.warmGate(allowed: ["localhost"], inward: ["127.0.0.0/8", "::1/128"], pool: pool)
            let connection = try Connection(gate: gate)
            try connection.send(HelloBuilder(host: "localhost").bytes)
            #expect(try connection.written() == [Self.accessDenied])
            #expect(connection.ledger.denial == .inward)
            #expect(connection.ledger.upstream != nil)
        }
    }

    @Test func echIsRefusedWhenConfigured() async throws {
        try await Self.withPool { pool in
            let gate = try await Self.warmGate(allowed: ["localhost"], refuseECH: true, pool: pool)
            let connection = try Connection(gate: gate)
            try connection.send(HelloBuilder(host: "localhost", ech: true).bytes)
            #expect(try connection.written() == [Self.accessDenied])
            #expect(connection.ledger.denial == .echRefused)
            #expect(connection.ledger.takeRecord()?.reason == "ech-refused")
        }
    }

    @Test func anSNIOtherThanTheCONNECTHostIsRefused() async throws {
        try await Self.withPool { pool in
            let gate = try await Self.warmGate(allowed: ["localhost"], pool: pool)
            let connection = try Connection(gate: gate, expectedHost: "api.example.com")
            try connection.send(HelloBuilder(host: "localhost").bytes)
            #expect(try connection.written() == [Self.accessDenied])
            #expect(connection.ledger.denial == .connectMismatch)
        }
    }

    @Test func aMalformedHelloIsClosedWithoutAnAlert() async throws {
        try await Self.withPool { pool in
            let connection = try Connection(gate: try await Self.warmGate(allowed: ["localhost"], pool: pool))
            var broken = HelloBuilder(host: "localhost")
            broken.extensionsLength = 3
            try connection.send(broken.bytes)
            #expect(try connection.written().isEmpty)
            #expect(!connection.channel.isActive)
            #expect(connection.ledger.denial == .malformed)
        }
    }

    /// In explicit mode the CONNECT target is known first; a refusal for
    /// what follows records the SNI it carried, or no host when it had none.
    @Test func aRefusedHelloAfterCONNECTNamesItsOwnSNIOrNone() async throws {
        try await Self.withPool { pool in
            let gate = try await Self.warmGate(allowed: ["localhost"], pool: pool)
            let noSNI = try Connection(gate: gate, expectedHost: "api.example.com")
            noSNI.ledger.host = "api.example.com"
            try noSNI.send(HelloBuilder().bytes)
            #expect(noSNI.ledger.denial == .noSNI && noSNI.ledger.host == "")
            let other = try Connection(gate: gate, expectedHost: "api.example.com")
            other.ledger.host = "api.example.com"
            try other.send(HelloBuilder(host: "localhost").bytes)
            #expect(other.ledger.denial == .connectMismatch && other.ledger.host == "localhost")
        }
    }

    @Test func aHelloNotCompleteByItsDeadlineIsClosed() async throws {
        try await Self.withPool { pool in
            let connection = try Connection(gate: try await Self.warmGate(allowed: ["localhost"], pool: pool))
            try connection.send(Array(HelloBuilder(host: "localhost").bytes.prefix(10)))
            #expect(connection.handler.sweep(now: connection.loop.now + .seconds(9)), "still within its deadline")
            #expect(connection.channel.isActive)
            #expect(!connection.handler.sweep(now: connection.loop.now + .seconds(10)))
            #expect(!connection.channel.isActive)
            #expect(connection.ledger.denial == .helloTimeout)
        }
    }

    @Test func aHalfCloseBeforeTheHelloIsAbandoned() async throws {
        try await Self.withPool { pool in
            let connection = try Connection(gate: try await Self.warmGate(allowed: ["localhost"], pool: pool))
            try connection.send(Array(HelloBuilder(host: "localhost").bytes.prefix(10)))
            connection.channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
            #expect(!connection.channel.isActive)
            #expect(connection.ledger.takeRecord()?.reason == "abandoned")
        }
    }
}
