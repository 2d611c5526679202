@testable import EgressAPI
import Foundation
import NIOCore
import PolicyLang
import Testing

/// The decision API's wire types: what the service writes with its fast
/// writers is what an enforcer reads with `JSONDecoder`, and the other way
/// round for requests.
struct DecisionWireTests {
    private func roundTrip(_ answer: DecisionAnswer) throws -> DecisionAnswer {
        var buffer = ByteBuffer()
        answer.write(into: &buffer)
        return try JSONDecoder().decode(DecisionAnswer.self, from: Data(buffer.readableBytesView))
    }

    @Test func anAnswerReadsBackAsWritten() throws {
        let identity = EncodedIdentity(
            SourceIdentity(
                namespace: "shop", serviceAccount: "checkout", pod: "checkout-7f", labels: ["app": "checkout", "tier": "web"],
                namespaceLabels: ["team": "payments"]))
        let allowed = DecisionAnswer(
            verdict: .allow, rule: "policies/stripe.egress:3", name: "payments", dryRunVerdict: .deny,
            dryRunRule: "policies/dry.egress:9", revision: 7, ttl: 30, source: identity)
        #expect(try roundTrip(allowed) == allowed)
        let denied = DecisionAnswer(
            verdict: .deny, rule: nil, name: nil, dryRunVerdict: .deny, dryRunRule: nil, revision: nil, ttl: 5, source: nil)
        #expect(try roundTrip(denied) == denied)
    }

    @Test func textThatNeedsEscapesIsEscaped() throws {
        let odd = DecisionAnswer(
            verdict: .allow, rule: "dir \"quoted\"/a\\b.egress:1", name: "tab\there\u{1}", dryRunVerdict: .allow,
            dryRunRule: nil, revision: 1, ttl: 1, source: EncodedIdentity(SourceIdentity(labels: ["k\"": "v\n"])))
        #expect(try roundTrip(odd) == odd)
    }

    @Test func theAnswerHasTheDocumentedFields() throws {
        var buffer = ByteBuffer()
        DecisionAnswer(
            verdict: .deny, rule: nil, name: nil, dryRunVerdict: .deny, dryRunRule: nil, revision: 2, ttl: 5, source: nil
        ).write(into: &buffer)
        #expect(
            String(buffer: buffer)
                == #"{"verdict":"deny","rule":null,"name":null,"dryRunVerdict":"deny","dryRunRule":null,"revision":2,"ttl":5,"source":null}"#)
    }

    @Test func anAnswerWithAnIdentityHasTheDocumentedBytes() throws {
        var buffer = ByteBuffer()
        DecisionAnswer(
            verdict: .allow, rule: "stripe.egress:3", name: "payments", dryRunVerdict: .allow, dryRunRule: nil, revision: 7,
            ttl: 30,
            source: EncodedIdentity(SourceIdentity(namespace: "shop", serviceAccount: "checkout", labels: ["tier": "web", "app": "x"]))
        ).write(into: &buffer)
        #expect(
            String(buffer: buffer)
                == #"{"verdict":"allow","rule":"stripe.egress:3","name":"payments","dryRunVerdict":"allow","dryRunRule":null,"#
                + #""revision":7,"ttl":30,"source":{"namespace":"shop","serviceAccount":"checkout","labels":{"app":"x","tier":"web"}}}"#)
    }

    @Test func aNegativeTTLIsReadAsZero() throws {
        let text = #"{"verdict":"allow","rule":null,"name":null,"dryRunVerdict":"allow","dryRunRule":null,"revision":1,"ttl":-4,"source":null}"#
        #expect(try JSONDecoder().decode(DecisionAnswer.self, from: Data(text.utf8)).ttl == 0)
    }

    @Test func aRequestReadsBackAsWritten() throws {
        let requests: [DecisionRequest] = [
            DecisionRequest(source: .ip("198.18.0.7"), host: "api.stripe.com", port: 443),
            DecisionRequest(source: .spiffe("spiffe://cluster.local/ns/a/sa/b"), host: "a.example", port: 8443),
            DecisionRequest(source: .unknown, host: "b.example", port: 1),
            DecisionRequest(
                source: .asserted(SourceIdentity(namespace: "shop", pod: "p", labels: ["app": "x"])), host: "c.example",
                port: 65535),
            DecisionRequest(
                source: .asserted(SourceIdentity(namespace: "shop", namespaceLabels: ["team": "payments"])), host: "d.example",
                port: 443),
        ]
        for request in requests {
            var buffer = ByteBuffer()
            request.write(into: &buffer)
            #expect(try DecisionRequest.parse(buffer) == request, "\(String(buffer: buffer))")
            #expect(try DecisionRequest.parse(Data(buffer.readableBytesView)) == request)
            // What an enforcer sends by address is the shape the fast reader takes.
            if case .ip = request.source { #expect(DecisionBodyScanner.scan(buffer) == request) }
            if case .spiffe = request.source { #expect(DecisionBodyScanner.scan(buffer) == request) }
        }
    }

    @Test func aWatchEventReadsBackAsWritten() {
        for event in [
            WatchEvent(event: .hello, revision: nil, inventoryGeneration: 0),
            WatchEvent(event: .revision, revision: 12, inventoryGeneration: 3),
            WatchEvent(event: .inventory, revision: 12, inventoryGeneration: 4),
        ] {
            #expect(WatchEvent(line: event.jsonLine) == event)
        }
        // A kind a later service may add is read, to be treated as a change.
        #expect(WatchEvent(line: "{\"event\":\"surprise\",\"inventoryGeneration\":1}")?.event.rawValue == "surprise")
        #expect(WatchEvent(line: "{\"revision\":1}") == nil)
        #expect(WatchEvent(line: "not json") == nil)
    }

    @Test func anErrorBodyReadsBack() throws {
        let error = DecisionAPIError(error: "'host' contains \"quotes\"")
        #expect(try JSONDecoder().decode(DecisionAPIError.self, from: Data(error.json.utf8)) == error)
    }
}

/// The access report's own writer against JSONEncoder: the same object,
/// field for field, for full, sparse and awkward records.
struct AccessReportWriterTests {
    @Test func theWriterSaysWhatJSONEncoderSays() throws {
        var full = AccessReport.Connection(
            time: 1_795_738_498_766, sourceIP: "198.18.0.5", host: "api.example.com", port: 443, allowed: true, rule: "a.egress:1",
            ruleName: "web", revision: 3, reason: "ech", originalDestination: "203.0.113.9:80", upstream: "[2001:db8::1]:443",
            cached: false, bytesUp: 120, bytesDown: 5000, durationMs: 12)
        full.method = "GET"
        full.path = "/v1/items \"quoted\" \\ \u{7f}é"
        full.status = 200
        full.queryType = "TYPE65280"
        full.count = 41
        let sparse = AccessReport.Connection(time: nil, sourceIP: "::1", host: "", port: 0, allowed: false)
        for report in [
            AccessReport(connections: [full, sparse]),
            AccessReport(connections: [], dropped: .init(allowed: 3, refused: 0, first: 10, last: 20)),
        ] {
            var buffer = ByteBuffer()
            report.write(into: &buffer)
            let written = try JSONSerialization.jsonObject(with: Data(buffer.readableBytesView)) as? NSDictionary
            let encoded = try JSONSerialization.jsonObject(with: JSONEncoder().encode(report)) as? NSDictionary
            #expect(written == encoded)
            let decoded = try JSONDecoder().decode(AccessReport.self, from: Data(buffer.readableBytesView))
            #expect(decoded.connections == report.connections && decoded.dropped == report.dropped)
        }
    }
}
