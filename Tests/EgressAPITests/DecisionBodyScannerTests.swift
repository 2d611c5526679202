import Foundation
import NIOCore
import Testing
import TestSupport

@testable import EgressAPI

/// The decision body's fast path (`DecisionBodyScanner`) against the general
/// parser: wherever the scanner answers, the general parser must give the
/// same request; wherever the body is not plainly the usual shape, the
/// scanner must step aside.
struct DecisionBodyScannerTests {
    private func scan(_ text: String) -> DecisionRequest? {
        Array(text.utf8).withUnsafeBytes { DecisionBodyScanner.scan($0) }
    }

    private func general(_ text: String) -> DecisionRequest? {
        try? DecisionRequest.parse(Data(text.utf8))
    }

    @Test func readsTheShapesEnforcersSend() {
        #expect(
            scan(#"{"source":{"ip":"198.18.1.2"},"host":"api.foo.com","port":443}"#)
                == DecisionRequest(source: .ip("198.18.1.2"), host: "api.foo.com", port: 443))
        #expect(
            scan(" {\n\t\"port\" : 8443 , \"host\": \"a.b\", \"source\": {\"spiffe\": \"spiffe://t/ns/a/sa/b\"}\r\n} ")
                == DecisionRequest(source: .spiffe("spiffe://t/ns/a/sa/b"), host: "a.b", port: 8443))
        #expect(scan(#"{"host":"a.b"}"#) == DecisionRequest(source: .unknown, host: "a.b", port: 443))
        #expect(scan(#"{"host":"a.b","source":null}"#) == DecisionRequest(source: .unknown, host: "a.b", port: 443))
        // Addresses are normalized as the general parser does.
        #expect(scan(#"{"source":{"ip":"::ffff:198.18.0.1"},"host":"a.b"}"#)?.source == .ip("198.18.0.1"))
        #expect(scan(#"{"source":{"ip":"2001:DB8:0::1"},"host":"a.b"}"#)?.source == .ip("2001:db8::1"))
    }

    @Test(arguments: [
        #"{"host":"a\u0062.c"}"#,  // an escape
        #"{"host":"é.example"}"#,  // non-ASCII
        #"{"host":"a.b","host":"c.d"}"#,  // a duplicate member
        #"{"host":"a.b","extra":1}"#,  // an unknown member
        #"{"host":"a.b","port":0443}"#,  // a leading zero
        #"{"host":"a.b","port":443.0}"#,  // a fraction
        #"{"host":"a.b","port":4e2}"#,  // an exponent
        #"{"host":"a.b","port":-1}"#,
        #"{"host":"a.b","port":70000}"#,
        #"{"host":"a.b","port":"443"}"#,
        #"{"host":"a.b","port":null}"#,
        #"{"host":""}"#,
        #"{"port":443}"#,
        #"{"host":"a.b","source":{"ip":"198.18.0.1","pod":"x"}}"#,
        #"{"host":"a.b","source":{"namespace":"x"}}"#,
        #"{"host":"a.b","source":{}}"#,
        #"{"host":"a.b","source":{"ip":"not-an-address"}}"#,
        #"{"host":"a.b","source":{"ip":null}}"#,
        #"{"host":"a.b"} x"#,
        #"{"host":"a.b",}"#,
        #"["host"]"#,
        "",
    ])
    func leavesEverythingElseToTheGeneralParser(_ body: String) {
        #expect(scan(body) == nil)
    }

    /// Mutated bodies (bytes changed, inserted, deleted, ranges repeated),
    /// from a fixed seed: many stay in the plain shape and many do not.
    @Test func agreesWithTheGeneralParserOnMutatedBodies() {
        let seeds = [
            #"{"source":{"ip":"198.18.1.2"},"host":"api.foo.com","port":443}"#,
            #"{"host": "a.b", "source": {"spiffe": "spiffe://t/ns/a"}, "port": 8443}"#,
            #"{"port":1,"source":null,"host":"x"}"#,
            #"{"source":{"ip":"2001:db8::1"},"host":"h"}"#,
            #"{"source":{"ip":"198.18.1.2"},"host":"h.b","port":"any"}"#,
        ].map { Array($0.utf8) }
        let alphabet = Array(#"{}[]":, .-+eE019aipxny\"#.utf8) + [0x09, 0x0A, 0x00, 0x7F, 0xC3, 0xA9]
        var random = SeededGenerator(seed: 0x5EED)
        var scanned = 0
        var declined = 0
        for round in 0..<200_000 {
            var body = seeds[round % seeds.count]
            for _ in 0...Int(random.next() % 3) {
                let at = Int(random.next() % UInt64(body.count + 1))
                switch random.next() % 4 {
                case 0 where at < body.count: body[at] = alphabet[Int(random.next() % UInt64(alphabet.count))]
                case 1: body.insert(alphabet[Int(random.next() % UInt64(alphabet.count))], at: at)
                case 2 where at < body.count: body.remove(at: at)
                default:
                    let end = min(body.count, at + Int(random.next() % 12))
                    body.insert(contentsOf: body[at..<end], at: at)
                }
            }
            let fast = body.withUnsafeBytes { DecisionBodyScanner.scan($0) }
            guard let fast else {
                declined += 1
                continue
            }
            scanned += 1
            let slow = try? DecisionRequest.parse(Data(body))
            #expect(slow == fast, "\(String(decoding: body, as: UTF8.self))")
        }
        // Both paths were exercised, or the comparison proved nothing.
        #expect(scanned > 10_000)
        #expect(declined > 10_000)
    }

    @Test func theGeneralParserStillWordsTheErrors() {
        #expect(general(#"{"host":"a.b","port":0443}"#) == nil)
        #expect(throws: DecisionRequest.Invalid.self) { try DecisionRequest.parse(ByteBuffer(string: #"{"host":"a.b","port":70000}"#)) }
        do {
            _ = try DecisionRequest.parse(ByteBuffer(string: #"{"host":"a.b","port":70000}"#))
        } catch {
            #expect(error.message == "port 70000 is outside 1-65535")
        }
    }
}
