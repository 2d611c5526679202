import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP2
import NIOPosix
import EnforcerCore
import Testing
import ServiceTestSupport

/// The enforcer's side of the decision API against the real egress-pdp: the
/// client's decisions, the verdict cache following the watch stream, the
/// connection reports landing in the audit trail, and reconnecting after the
/// service restarts.
@Suite(.serialized) struct PEPClientTests {
    let pdp: PDPProcess
    let token: String
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    let logger = Logger(label: "pep-client-test")

    init() async throws {
        pdp = try await PDPProcess.withExamplePolicies(
            workloads: """
                - namespace: shop
                  pod: checkout-1
                  serviceAccount: checkout
                  labels: {app: checkout}
                  ips: [198.18.1.2]
                """)
        token = try await pdp.token("pep", name: "pep-client-test")
    }

    /// Requests and pings may take up to 30 s here, not the enforcer's 2 and
    /// 10: these tests check answers, and beside the rest of the suite a
    /// debug build of the service on two cores was seen taking longer than
    /// 2 s to answer a request and 5 s to answer a ping.
    static let patient = TimeAmount.seconds(30)

    func client(token: String? = nil, port: Int? = nil) -> PDPClient {
        PDPClient(
            endpoint: .h2c(host: "127.0.0.1", port: port ?? pdp.decisionPort), token: token ?? self.token, tls: nil,
            group: group, logger: logger, requestTimeout: Self.patient, keepalive: (.seconds(10), Self.patient))
    }

    @Test func decisionsComeBackAsVerdicts() async throws {
        let decisions = DecisionClient(pdp: client())
        let allow = try await decisions.decide(VerdictKey(sourceIP: "198.18.1.2", host: "api.stripe.com", port: 443))
        #expect(allow == Verdict(allow: true, rule: "10-apps.egress:11", name: "checkout-stripe", revision: 1, ttl: 60))
        let deny = try await decisions.decide(VerdictKey(sourceIP: "198.18.9.9", host: "pastebin.com", port: 443))
        #expect(!deny.allow)
        #expect(deny.rule == "00-cluster.egress:11")
        #expect(deny.ttl == 5)
        // Many at once share the one connection.
        let verdicts = try await withThrowingTaskGroup(of: Bool.self) { group in
            for i in 0..<200 {
                group.addTask { try await decisions.decide(VerdictKey(sourceIP: "198.18.1.2", host: "h\(i).example", port: 443)).allow }
            }
            return try await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(verdicts.count == 200)
    }

    /// The service remembers a connection's token between requests; a token
    /// that expires is refused on the connection it was accepted on.
    @Test func aTokenThatExpiresIsRefusedOnItsOpenConnection() async throws {
        // 8 s: beside the rest of the suite, a first request was seen taking
        // more than 5 s to be answered.
        let created = ContinuousClock.now
        let answer = try await pdp.admin("POST", "/v1/tokens", body: #"{"name": "brief", "role": "pep", "expiresIn": 8}"#)
        let secret = try #require(answer.json?["token"] as? String, "\(answer)")
        let pdpClient = client(token: secret)
        let decisions = DecisionClient(pdp: pdpClient)
        let key = VerdictKey(sourceIP: "198.18.1.2", host: "api.stripe.com", port: 443)
        #expect(try await decisions.decide(key).allow)
        #expect(pdpClient.isConnected)
        try await Task.sleep(until: created + .milliseconds(8300))
        do {
            _ = try await decisions.decide(key)
            Issue.record("a decision with an expired token")
        } catch let error as DecisionClient.Refused {
            #expect(error.status == 401)
        }
    }

    @Test func aWrongTokenIsRefusedNotTreatedAsADecision() async throws {
        let decisions = DecisionClient(pdp: client(token: "not-a-token"))
        do {
            _ = try await decisions.decide(VerdictKey(sourceIP: "198.18.1.2", host: "api.stripe.com", port: 443))
            Issue.record("a decision with a bad token")
        } catch let error as DecisionClient.Refused {
            #expect(error.status == 401)
        }
    }

    @Test func nothingListeningIsUnavailableAtOnceAndBacksOff() async throws {
        // A port nothing listens on: bind one, note it, close it.
        let port = try await closedPort()
        let pdpClient = client(port: port)
        await #expect(throws: PDPClient.Unavailable.self) { try await pdpClient.send(method: "GET", path: "/v1/watch", body: nil) }
        // While it backs off, a request fails with the last error without
        // trying to connect. (The backoff doubles with each failure, so a
        // loaded machine that wakes late still lands inside one.)
        var refusedDuringBackoff = false
        for _ in 0..<6 where !refusedDuringBackoff {
            do {
                _ = try await pdpClient.send(method: "GET", path: "/v1/watch", body: nil)
            } catch {
                refusedDuringBackoff = "\(error)".contains("(retrying)")
            }
        }
        #expect(refusedDuringBackoff)
    }

    /// A peer that accepts and then never answers (a vanished host behind a
    /// virtual IP looks like this): after two silent requests the client
    /// drops the connection and the next request connects again.
    @Test func aSilentServiceIsReconnected() async throws {
        let accepted = NIOLockedValueBox(0)
        let silent = try await ServerBootstrap(group: group)
            .childChannelInitializer { channel in
                accepted.withLockedValue { $0 += 1 }
                return channel.eventLoop.makeSucceededVoidFuture()
            }
            .bind(host: "127.0.0.1", port: 0).get()
        defer { silent.close(promise: nil) }
        let pdpClient = PDPClient(
            endpoint: .h2c(host: "127.0.0.1", port: silent.localAddress!.port!), token: token, tls: nil, group: group,
            logger: logger, requestTimeout: .milliseconds(200))
        for _ in 0..<2 {
            await #expect(throws: PDPClient.Unavailable.self) { try await pdpClient.send(method: "GET", path: "/v1/watch", body: nil) }
        }
        #expect(accepted.withLockedValue { $0 } == 1)
        await #expect(throws: PDPClient.Unavailable.self) { try await pdpClient.send(method: "GET", path: "/v1/watch", body: nil) }
        #expect(accepted.withLockedValue { $0 } == 2, "a new connection after two silent requests")
    }

    /// A service that stops answering without closing its connection (here:
    /// stopped with SIGSTOP, so the kernel still holds the connection open)
    /// is noticed by the client's pings, which close the connection; once the
    /// service runs again, the next request connects anew.
    @Test func aServiceThatStopsAnsweringIsNoticedByPings() async throws {
        let pdpClient = PDPClient(
            endpoint: .h2c(host: "127.0.0.1", port: pdp.decisionPort), token: token, tls: nil, group: group, logger: logger,
            requestTimeout: Self.patient, keepalive: (.milliseconds(300), .milliseconds(500)))
        let key = VerdictKey(sourceIP: "198.18.1.2", host: "api.stripe.com", port: 443)
        #expect(try await DecisionClient(pdp: pdpClient).decide(key).allow)
        // Answered pings keep a healthy connection open.
        try await Task.sleep(for: .seconds(1.5))
        #expect(pdpClient.isConnected)
        kill(pdp.process.processIdentifier, SIGSTOP)
        var closed = false
        for _ in 0..<100 where !closed {
            try await Task.sleep(for: .milliseconds(50))
            closed = !pdpClient.isConnected
        }
        kill(pdp.process.processIdentifier, SIGCONT)
        #expect(closed, "the connection to the stopped service was closed")
        #expect(try await DecisionClient(pdp: pdpClient).decide(key).allow)
        #expect(pdpClient.isConnected)
        await pdpClient.close()
    }

    @Test func aPolicyChangeEmptiesTheCacheThroughTheWatch() async throws {
        let pdpClient = client()
        let decisions = DecisionClient(pdp: pdpClient)
        let metrics = EnforcerMetrics()
        let cache = VerdictCache(capacity: 100, metrics: metrics) { try await decisions.decide($0) }
        let watch = WatchFollower(pdp: pdpClient, cache: cache, metrics: metrics, logger: logger)
        let follower = Task { try await watch.run() }
        defer { follower.cancel() }
        let key = VerdictKey(sourceIP: "198.18.1.2", host: "api.stripe.com", port: 443)
        var hits = 0
        func lookUp() async throws -> (Verdict, VerdictCache.Origin) {
            let (verdict, origin) = try await cache.verdict(for: key)
            if origin == .hit { hits += 1 }
            return (verdict, origin)
        }
        #expect(try await lookUp().1 == .miss)
        #expect(try await lookUp().1 == .hit)
        try await waitUntil { watch.isFollowing }
        // The first hello empties a cache that was filled before it (or found
        // it empty): either way, the verdict is cached again before the
        // change, so that the wait below sees the change's flush, not the
        // hello's.
        _ = try await lookUp()
        #expect(cache.count == 1)

        // A new revision (the same files, activated again) reaches the cache
        // within a round trip: the next lookup asks the service.
        #expect(try await pdp.admin("POST", "/v1/revisions/1/activate").status == 200)
        try await waitUntil { cache.count == 0 }
        #expect(try await lookUp().1 == .miss)

        // So does an inventory change: the workload's address moves.
        #expect(try await lookUp().1 == .hit)
        let put = try await pdp.admin(
            "PUT", "/v1/workloads/shop/checkout-1",
            body: #"{"serviceAccount": "checkout", "labels": {"app": "checkout"}, "ips": ["198.18.1.3"]}"#)
        #expect(put.status == 200, "\(put)")
        try await waitUntil { cache.count == 0 }
        let (moved, origin) = try await lookUp()
        #expect(origin == .miss)
        #expect(!moved.allow, "198.18.1.2 no longer belongs to the checkout workload")
        #expect(metrics.render().contains(#"egress_pep_verdict_cache_total{result="hit"} \#(hits)"#))
    }

    /// A watch stream that never delivers its hello is given up and opened
    /// again, instead of leaving the enforcer unready for good. egress-pdp
    /// sends the hello at once and cannot be made to stay silent, so this
    /// server is a test double: HTTP/2 that accepts streams and never
    /// answers them.
    @Test func aWatchThatNeverSaysHelloIsOpenedAgain() async throws {
        let streams = NIOLockedValueBox(0)
        let server = try await ServerBootstrap(group: group)
            .childChannelInitializer { channel in
                channel.configureHTTP2Pipeline(mode: .server) { stream in
                    streams.withLockedValue { $0 += 1 }
                    return stream.eventLoop.makeSucceededVoidFuture()
                }.map { _ in }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        defer { server.close(promise: nil) }
        let pdpClient = client(port: try #require(server.localAddress?.port))
        let cache = VerdictCache(capacity: 10) { _ in throw CancellationError() }
        let watch = WatchFollower(pdp: pdpClient, cache: cache, metrics: nil, logger: logger, helloTimeout: .milliseconds(300))
        let follower = Task { try await watch.run() }
        defer { follower.cancel() }
        // Three streams: the first and two more after giving up on silence.
        try await waitUntil(timeout: .seconds(10)) { streams.withLockedValue { $0 } >= 3 }
        #expect(!watch.isFollowing)
    }

    @Test func connectionReportsLandInTheAuditTrail() async throws {
        let reporter = AccessReporter(pdp: client(), metrics: nil, logger: logger)
        var record = AccessRecord(
            time: 1_795_737_200_000, sourceIP: "198.18.1.2", host: "api.stripe.com", port: 443, allowed: true,
            rule: "10-apps.egress:11", ruleName: "checkout-stripe", revision: 1, reason: nil,
            originalDestination: "198.51.100.7:443", upstream: "198.18.3.10:443", cached: true)
        record.bytesUp = 1830
        record.bytesDown = 5121
        record.durationMs = 212
        reporter.record(record)
        reporter.record(AccessRecord(time: 1_795_737_200_001, sourceIP: "198.18.1.2", host: "", port: 443, allowed: false, reason: "no-sni"))
        #expect(await reporter.flush())
        #expect(reporter.backlog == 0)
        let audit = try await pdp.admin("GET", "/v1/audit?sourceIP=198.18.1.2&limit=100")
        let records = try #require(audit.json?["records"] as? [[String: Any]], "\(audit)").filter { $0["kind"] as? String == "access" }
        let allowed = try #require(records.first { $0["host"] as? String == "api.stripe.com" })
        #expect(allowed["upstream"] as? String == "198.18.3.10:443")
        #expect(allowed["originalDestination"] as? String == "198.51.100.7:443")
        #expect(allowed["bytesDown"] as? Int == 5121)
        #expect(allowed["cached"] as? Bool == true)
        #expect(allowed["namespace"] as? String == "shop", "the service resolves the source itself")
        let refused = try #require(records.first { $0["reason"] as? String == "no-sni" })
        #expect(refused["verdict"] as? String == "deny")
    }

    @Test func reportsWaitWhileTheServiceIsAwayAndOverflowIsCounted() async throws {
        let port = try await closedPort()
        let metrics = EnforcerMetrics()
        let reporter = AccessReporter(pdp: client(port: port), metrics: metrics, logger: logger, capacity: 3)
        for i in 0..<5 {
            reporter.record(AccessRecord(time: Int64(i), sourceIP: "198.18.1.2", host: "h\(i)", port: 443, allowed: true))
        }
        #expect(await reporter.flush() == false)
        #expect(reporter.backlog == 3, "kept, not dropped, while the service is away")
        let text = metrics.render()
        #expect(text.contains("egress_pep_access_records_dropped_total 2"), "\(text)")
        #expect(text.contains("egress_pep_access_backlog 3"))
    }

    /// Records the buffer could not keep while the service was away still
    /// show in the audit trail: as a count per verdict, with when, from
    /// the enforcer that dropped them, in the hash chain.
    @Test func droppedRecordsAreCountedIntoTheAuditTrail() async throws {
        let metrics = EnforcerMetrics()
        let reporter = AccessReporter(pdp: client(), metrics: metrics, logger: logger, capacity: 3)
        #expect(await pdp.stop() == 0)
        let before = Int64(Date().timeIntervalSince1970 * 1000)
        for i in 0..<4 {
            reporter.record(AccessRecord(time: 1_795_737_300_000 + Int64(i), sourceIP: "198.18.1.2", host: "kept\(i)", port: 443, allowed: true))
        }
        // The buffer is full of allowed connections: both of these go.
        reporter.record(AccessRecord(time: 1_795_737_300_010, sourceIP: "198.18.1.2", host: "", port: 443, allowed: false, reason: "no-sni"))
        #expect(await reporter.flush() == false)
        #expect(metrics.render().contains("egress_pep_access_records_dropped_total 2"))
        let after = Int64(Date().timeIntervalSince1970 * 1000)
        let untold = try #require(reporter.droppedUntold)
        #expect(untold.allowed == 1 && untold.refused == 1)
        #expect((before...after).contains(untold.first) && (untold.first...after).contains(untold.last), "drop times: \(untold)")

        let again = try await restarted()
        let deadline = ContinuousClock.now + .seconds(10)
        var flushed = false
        while !flushed, ContinuousClock.now < deadline {
            flushed = await reporter.flush()
            if !flushed { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(flushed, "the reports never got through")
        #expect(reporter.droppedUntold == nil, "the service confirmed the count")

        let audit = try await again.admin("GET", "/v1/audit?limit=1000")
        let records = try #require(audit.json?["records"] as? [[String: Any]], "\(audit)")
        let dropped = records.filter { $0["kind"] as? String == "dropped" }
        #expect(
            dropped.map { "\($0["verdict"] ?? "?") \($0["count"] ?? "?") by \($0["enforcer"] ?? "?"): \($0["reason"] ?? "?")" }.sorted() == [
                "allow 1 by token:pep-client-test: report-buffer-full", "deny 1 by token:pep-client-test: report-buffer-full",
            ])
        for record in dropped {
            #expect(record["time"] as? Int64 == untold.first && record["durationMs"] as? Int64 == untold.last - untold.first, "\(record)")
        }
        #expect(records.filter { ($0["host"] as? String)?.hasPrefix("kept") == true }.count == 3)
        let verify = try await again.admin("GET", "/v1/audit/verify")
        #expect(verify.json?["valid"] as? Bool == true, "\(verify)")
        await again.stop()
    }

    @Test func theClientSpeaksTLSWithACertificateAndTheUnixSocket() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pdp-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let ca = try await TestCA.make(in: directory)
        let other = try await PDPProcess.start(
            ["--policies", PDPProcess.repository.appendingPathComponent("policies").path,
             "--tls-listen", "127.0.0.1:0", "--tls-cert", ca.path("server.pem"), "--tls-key", ca.path("server.key"),
             "--tls-client-ca", ca.path("ca.pem")],
            directory: directory, removesDirectory: true, unixSocket: true)
        let key = VerdictKey(sourceIP: "198.18.9.9", host: "service1.foo.com", port: 443)

        let tls = try PDPClient.tlsContext(ca: ca.path("ca.pem"), certificate: ca.path("client.pem"), key: ca.path("client.key"))
        let overTLS = PDPClient(
            endpoint: .h2(host: "127.0.0.1", port: other.tlsPort), token: nil, tls: tls, group: group, logger: logger,
            requestTimeout: Self.patient, keepalive: (.seconds(10), Self.patient))
        #expect(try await DecisionClient(pdp: overTLS).decide(key).allow)

        // Without a client certificate the service gives no answer at all,
        // only a TLS alert: a refusal, which no stale verdict stands in for.
        let anonymous = try PDPClient.tlsContext(ca: ca.path("ca.pem"), certificate: nil, key: nil)
        let refused = PDPClient(endpoint: .h2(host: "127.0.0.1", port: other.tlsPort), token: nil, tls: anonymous, group: group, logger: logger)
        // The cache holds a verdict that expired a moment ago (from another
        // source: this client can get none), which a mere outage would let stand.
        let first = NIOLockedValueBox(true)
        // The cache's clock, moved by hand past the first verdict's TTL.
        let clock = NIOLockedValueBox(NIODeadline.now())
        let stale = VerdictCache(capacity: 10, staleMaxAge: .seconds(3600), now: { clock.withLockedValue { $0 } }) { key in
            if first.withLockedValue({ first in defer { first = false }; return first }) {
                return Verdict(allow: true, rule: "earlier", name: nil, revision: 1, ttl: 1)
            }
            return try await DecisionClient(pdp: refused).decide(key)
        }
        _ = try await stale.verdict(for: key)
        clock.withLockedValue { $0 = $0 + .milliseconds(1100) }
        do {
            _ = try await stale.verdict(for: key)
            Issue.record("a decision without a client certificate")
        } catch let rejected as PDPClient.Rejected {
            #expect(rejected.description.contains("_ALERT_"), "\(rejected)")
        }

        let socket = try #require(other.unixSocket)
        let overSocket = PDPClient(
            endpoint: .unix(path: socket), token: nil, tls: nil, group: group, logger: logger, requestTimeout: Self.patient,
            keepalive: (.seconds(10), Self.patient))
        #expect(try await DecisionClient(pdp: overSocket).decide(key).allow)
    }

    @Test func itReconnectsWhenTheServiceComesBack() async throws {
        let pdpClient = client()
        let decisions = DecisionClient(pdp: pdpClient)
        let key = VerdictKey(sourceIP: "198.18.1.2", host: "api.stripe.com", port: 443)
        #expect(try await decisions.decide(key).allow)
        #expect(await pdp.stop() == 0)
        await #expect(throws: (any Error).self) { try await decisions.decide(key) }
        let again = try await restarted()
        // The backoff is at most a few hundred milliseconds after one failure.
        let deadline = ContinuousClock.now + .seconds(5)
        var answered = false
        while !answered, ContinuousClock.now < deadline {
            answered = (try? await decisions.decide(key))?.allow == true
            if !answered { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(answered, "the client never reconnected")
        await again.stop()
    }

    /// Refusals fill at most half the buffer, and a connection that went out
    /// displaces the oldest refusal: a flood of cheap refusals cannot push
    /// out the records that matter.
    @Test func refusalsCannotCrowdOutAllowedConnections() async throws {
        let port = try await closedPort()
        let metrics = EnforcerMetrics()
        let reporter = AccessReporter(pdp: client(port: port), metrics: metrics, logger: logger, capacity: 4)
        for i in 0..<10 {
            reporter.record(AccessRecord(time: Int64(i), sourceIP: "198.18.1.2", host: "", port: 443, allowed: false, reason: "not-tls"))
        }
        for i in 0..<3 {
            reporter.record(AccessRecord(time: Int64(i), sourceIP: "198.18.1.2", host: "h\(i)", port: 443, allowed: true))
        }
        #expect(reporter.waiting == (allowed: 3, refused: 1))
        #expect(metrics.render().contains("egress_pep_access_records_dropped_total 9"))
    }

    /// The stopped service started again on its port, with its database.
    func restarted() async throws -> PDPProcess {
        try await PDPProcess.start(
            ["--listen", "127.0.0.1:\(pdp.decisionPort)", "--workloads", pdp.directory.appendingPathComponent("workloads.yaml").path],
            directory: pdp.directory)
    }

    /// A loopback port nothing listens on: bound by the kernel, then closed.
    func closedPort() async throws -> Int {
        let probe = try await ServerBootstrap(group: group).bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(probe.localAddress?.port)
        try await probe.close()
        return port
    }

    func waitUntil(timeout: Duration = .seconds(5), _ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while !condition() {
            guard ContinuousClock.now < deadline else {
                Issue.record("timed out waiting")
                return
            }
            try await Task.sleep(for: .milliseconds(10))
        }
    }
}
