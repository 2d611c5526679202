import Foundation
import Testing
import ServiceTestSupport

/// The decision API under the attacks a stolen token or a hostile neighbour
/// could make, sent as raw HTTP/2 frames over real sockets by
/// `Tests/Support/pdp_abuse.py` (h2 package): bodies left unfinished and
/// abandoned every way a connection can end, silent connections, idle ones,
/// rapid resets and answers never read. The service is watched from outside:
/// a legitimate decision on a new connection (`decision_status_after`) and
/// the admin API's metrics.
///
/// The budget attacks send 8 unfinished bodies of 128 KiB: exactly the
/// 1 MiB `--body-budget` these services get, so that a legitimate decision
/// is refused 503 while they are held, and must be answered again once the
/// attack is over.
@Suite(.serialized) struct AbuseTests {
    /// The workload the legitimate decision names by its address (an allow
    /// for api.stripe.com), so that its answer is a real decision.
    static let workloads = """
        - namespace: shop
          pod: checkout-1
          serviceAccount: checkout
          labels: {app: checkout}
          ips: [198.18.0.10]
        """

    static let budget = ["--body-budget", "1048576"]

    /// Runs one scenario of pdp_abuse.py against a new service started
    /// with `arguments`; its report, or nil (with the issue recorded) when
    /// the test tools are missing.
    private func attack(_ scenario: String, service arguments: [String], _ options: [String] = []) async throws -> [String: Any]? {
        guard let python = PDPProcess.testPython() else { return nil }
        let pdp = try await PDPProcess.withExamplePolicies(workloads: Self.workloads, arguments)
        let pep = try await pdp.token("pep", name: "abuser")
        let script = PDPProcess.repository.appendingPathComponent("Tests/Support/pdp_abuse.py").path
        let run = try await runCommand(python.path, [script, scenario, String(pdp.decisionPort), String(pdp.adminPort), pep] + options)
        #expect(run.status == 0, "\(run.out)\(run.err)")
        let result = try #require(try JSONSerialization.jsonObject(with: Data(run.out.utf8)) as? [String: Any], "\(run.out)\(run.err)")
        #expect(result["error"] == nil, "\(result)\n\(run.err)")
        #expect(pdp.process.isRunning, "egress-pdp died:\n\(pdp.log)")
        return result
    }

    /// What every budget attack must show: it filled the budget (a
    /// legitimate decision was refused meanwhile), and once it is over
    /// nothing is held and decisions are answered again.
    private func expectBudgetGivenBack(_ result: [String: Any], refusedDuring: Bool = true) {
        #expect(result["bytes_sent"] as? Int == 1 << 20, "\(result)")
        #expect(result["all_read_by_service"] as? Bool == true, "\(result)")
        #expect(result["body_bytes_held_during"] as? Int == 1 << 20, "\(result)")
        if refusedDuring { #expect(result["decision_status_during"] as? Int == 503, "\(result)") }
        #expect(result["decision_status_after"] as? Int == 200, "\(result)")
        #expect((result["decision_answer_after"] as? String)?.contains(#""verdict":"allow""#) == true, "\(result)")
        #expect(result["body_bytes_held"] as? Int == 0, "\(result)")
    }

    /// An enforcer that crashes, or a network that drops, mid-body: the
    /// service finds its connections reset, and must give back every byte
    /// their streams held, though NIO never reports those streams closed.
    @Test func bodiesLeftUnfinishedOnConnectionsClosedAbruptlyAreGivenBack() async throws {
        guard let result = try await attack("budget-close", service: Self.budget) else { return }
        expectBudgetGivenBack(result)
        #expect(result["open_connections"] as? Int == 0, "\(result)")
    }

    /// Every unfinished body reset with RST_STREAM (CANCEL) on connections
    /// that stay open: each stream's bytes are given back at its reset.
    @Test func bodiesOfResetStreamsAreGivenBackWhileTheirConnectionsStayOpen() async throws {
        guard let result = try await attack("budget-reset", service: Self.budget) else { return }
        #expect(result["resets_read_by_service"] as? Bool == true, "\(result)")
        #expect(result["connections_open"] as? Int == 8, "\(result)")
        expectBudgetGivenBack(result)
        #expect(result["open_connections"] as? Int == 8, "\(result)")
    }

    /// GOAWAY, then a close, with bodies unfinished: a GOAWAY from the
    /// client ends none of its own streams, the close must.
    @Test func bodiesLeftUnfinishedBeforeAGoAwayAndACloseAreGivenBack() async throws {
        guard let result = try await attack("budget-goaway", service: Self.budget) else { return }
        expectBudgetGivenBack(result)
        #expect(result["open_connections"] as? Int == 0, "\(result)")
    }

    /// Bodies that stop arriving on connections that stay open and silent:
    /// the request timeout answers each 408, resets it, and gives its bytes
    /// back, while the connections stay.
    @Test func bodiesThatStopArrivingAreAnswered408AndGivenBack() async throws {
        guard let result = try await attack("budget-idle", service: Self.budget + ["--request-timeout", "1"], ["--wait", "3"]) else { return }
        // Whether the first streams were still held when the legitimate
        // decision came depends on the machine's speed: not checked here.
        expectBudgetGivenBack(result, refusedDuring: false)
        #expect(result["streams_408"] as? Int == 8, "\(result)")
        #expect(result["streams_reset"] as? Int == 8, "\(result)")
        #expect(result["request_timeouts"] as? Int == 8, "\(result)")
        #expect(result["connections_closed_by_service"] as? Int == 0, "\(result)")
    }

    /// 200 connections from 127.0.0.2 that never send a byte: 20 (its
    /// share) are kept until the preface timeout closes them, the other 180
    /// are closed at accept, and an enforcer at 127.0.0.1 is answered
    /// meanwhile.
    @Test func silentConnectionsFromOneAddressAreCappedAndTimedOutWhileOthersAreServed() async throws {
        guard let result = try await attack(
            "silent", service: ["--preface-timeout", "1", "--max-connections-per-source", "20"], ["--sockets", "200", "--wait", "4"])
        else { return }
        #expect(result["connect_failed"] as? Int == 0, "\(result)")
        #expect(result["decision_status_during"] as? Int == 200, "\(result)")
        #expect(result["closed_immediately"] as? Int == 180, "\(result)")
        #expect(result["closed_without_a_byte"] as? Int == 180, "\(result)")
        #expect(result["closed_after_timeout"] as? Int == 20, "\(result)")
        #expect(result["still_open"] as? Int == 0, "\(result)")
        #expect(result["refused_source_share"] as? Int == 180, "\(result)")
        #expect(result["refused_capacity"] as? Int == 0, "\(result)")
        #expect(result["closed_preface_timeout"] as? Int == 20, "\(result)")
        #expect(result["decision_status_after"] as? Int == 200, "\(result)")
    }

    /// A connection that asked one decision and then says nothing is sent
    /// GOAWAY (NO_ERROR) and closed after the idle timeout.
    @Test func anIdleConnectionIsSentGoAwayAndClosed() async throws {
        guard let result = try await attack("idle", service: ["--idle-timeout", "1"], ["--wait", "4"]) else { return }
        #expect(result["decision_status"] as? Int == 200, "\(result)")
        #expect(result["goaway"] as? Bool == true, "\(result)")
        #expect(result["goaway_error"] as? String == "NO_ERROR", "\(result)")
        #expect(result["goaway_last_stream_id"] as? Int == 1, "\(result)")
        #expect(result["closed"] as? Bool == true, "\(result)")
        #expect((result["closed_after_seconds"] as? Double).map { $0 < 3 } == true, "\(result)")
        #expect(result["closed_idle_timeout"] as? Int == 1, "\(result)")
    }

    /// HEADERS + RST_STREAM pairs, 150 per connection (under NIO's own
    /// per-connection guard), over fresh connections from 127.0.0.2: past
    /// 300 resets the connection is closed with ENHANCE_YOUR_CALM and the
    /// address refused new ones, while 127.0.0.1 is answered.
    @Test func anAddressThatResetsTooManyStreamsIsCalmedAndRefusedWhileOthersAreServed() async throws {
        guard let result = try await attack("rapid-reset", service: ["--max-resets-per-source", "300"], ["--pairs", "150", "--duration", "4"])
        else { return }
        #expect(result["connections_admitted"] as? Int == 3, "\(result)")
        #expect((result["resets_sent"] as? Int).map { (301...450).contains($0) } == true, "\(result)")
        #expect(result["goaway_enhance_your_calm"] as? Int == 1, "\(result)")
        #expect((result["connections_refused"] as? Int).map { $0 >= 1 } == true, "\(result)")
        #expect(result["new_connection_refused"] as? Bool == true, "\(result)")
        #expect(result["closed_reset_limit"] as? Int == 1, "\(result)")
        #expect((result["refused_reset_penalty"] as? Int).map { $0 >= 2 } == true, "\(result)")
        #expect(result["decision_status_after"] as? Int == 200, "\(result)")
    }

    /// The same flood made of requests whose body breaks its content-length,
    /// so that the service resets every stream itself ("MadeYouReset"): the
    /// resets count against the address all the same.
    @Test func anAddressWhoseStreamsTheServiceMustResetIsCalmedToo() async throws {
        guard let result = try await attack(
            "rapid-reset", service: ["--max-resets-per-source", "300"], ["--pairs", "150", "--duration", "4", "--provoke"])
        else { return }
        #expect((result["connections_admitted"] as? Int).map { $0 <= 4 } == true, "\(result)")
        #expect(result["new_connection_refused"] as? Bool == true, "\(result)")
        #expect(result["closed_reset_limit"] as? Int == 1, "\(result)")
        #expect(result["decision_status_after"] as? Int == 200, "\(result)")
    }

    /// A zero-window client that sends all its requests at once: the cap is
    /// checked as streams open, not only at the end of a read.
    @Test func aClientThatNeverReadsIsCutOffWithinOneRead() async throws {
        guard let result = try await attack(
            "zero-window", service: ["--max-buffered-answers", "256"], ["--requests", "999", "--batch", "16", "--burst"])
        else { return }
        #expect(result["goaway_error"] as? String == "ENHANCE_YOUR_CALM", "\(result)")
        #expect((result["streams_opened_before_goaway"] as? Int).map { $0 <= 300 } == true, "\(result)")
        #expect(result["closed_buffered_answers"] as? Int == 1, "\(result)")
    }

    /// A client that sets SETTINGS_INITIAL_WINDOW_SIZE to 0 and never gives
    /// credit, asking decisions 16 at a time: once more than 256 answers
    /// wait for it, the connection is closed with ENHANCE_YOUR_CALM.
    @Test func aClientThatNeverReadsItsAnswersIsDisconnected() async throws {
        guard let result = try await attack("zero-window", service: ["--max-buffered-answers", "256"], ["--requests", "999", "--batch", "16"])
        else { return }
        #expect(result["goaway"] as? Bool == true, "\(result)")
        #expect(result["goaway_error"] as? String == "ENHANCE_YOUR_CALM", "\(result)")
        #expect((result["streams_opened_before_goaway"] as? Int).map { (257...272).contains($0) } == true, "\(result)")
        #expect((result["requests_sent"] as? Int).map { $0 < 999 } == true, "\(result)")
        #expect(result["closed"] as? Bool == true, "\(result)")
        #expect(result["closed_buffered_answers"] as? Int == 1, "\(result)")
        #expect(result["decision_status_after"] as? Int == 200, "\(result)")
    }
}
