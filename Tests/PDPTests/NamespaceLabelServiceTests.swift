import Foundation
import ServiceTestSupport
import Testing
import TestSupport

/// Namespace labels through the service: from the workloads file, the admin
/// API and an asserted identity, into `nslabel:` decisions, the answer's
/// `source`, and the store across a restart.
struct NamespaceLabelServiceTests {
    static let policy =
        #"{"files": [{"path": "a.egress", "content": "allow nslabel:team=payments -> api.stripe.com as payments\n"}], "reason": "nslabel"}"#

    @Test func namespaceLabelsFromEveryPathDecide() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pdp-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let file = directory.appendingPathComponent("workloads.yaml")
        try """
            - namespace: shop
              pod: checkout-1
              labels: {team: payments}
              namespaceLabels: {team: payments, kubernetes.io/metadata.name: shop}
              ips: [198.18.6.1]
            - namespace: web
              pod: front-1
              labels: {team: payments}
              ips: [198.18.6.2]
            """.write(to: file, atomically: true, encoding: .utf8)
        let pdp = try await PDPProcess.start(["--workloads", file.path], directory: directory, removesDirectory: true)
        let pep = try await pdp.token("pep")
        let identityPEP = try await pdp.token("pep-identity")
        #expect(try await pdp.admin("POST", "/v1/revisions", body: Self.policy).status == 201)
        func verdict(_ source: String, token: String) async throws -> [String: Any]? {
            try await pdp.decide(#"{"source": \#(source), "host": "api.stripe.com"}"#, token: token).json
        }

        // From the workloads file: the namespace's label decides, the pod's does not.
        let checkout = try #require(try await verdict(#"{"ip": "198.18.6.1"}"#, token: pep))
        #expect(checkout["verdict"] as? String == "allow" && checkout["name"] as? String == "payments")
        let source = try #require(checkout["source"] as? [String: Any])
        #expect(source["namespaceLabels"] as? [String: String] == ["team": "payments", "kubernetes.io/metadata.name": "shop"])
        #expect(try await verdict(#"{"ip": "198.18.6.2"}"#, token: pep)?["verdict"] as? String == "deny")

        // Asserted by an identity enforcer.
        let asserted = #"{"namespace": "x", "namespaceLabels": {"team": "payments"}}"#
        #expect(try await verdict(asserted, token: identityPEP)?["verdict"] as? String == "allow")
        let bad = try await pdp.decide(
            #"{"source": {"namespace": "x", "namespaceLabels": {"team": 1}}, "host": "api.stripe.com"}"#, token: identityPEP)
        #expect(bad.status == 400 && (bad.json?["error"] as? String)?.contains("'source.namespaceLabels.team' must be a string") == true)

        // Through the admin API, checked as labels are, and kept across a restart.
        let refused = try await pdp.admin("PUT", "/v1/workloads/web/front-1", body: #"{"namespaceLabels": {"-x": "y"}, "ips": ["198.18.6.2"]}"#)
        #expect(refused.status == 400)
        let put = try await pdp.admin(
            "PUT", "/v1/workloads/web/front-1", body: #"{"namespaceLabels": {"team": "payments"}, "ips": ["198.18.6.2"]}"#)
        #expect(put.status == 200, "\(put)")
        #expect(try await verdict(#"{"ip": "198.18.6.2"}"#, token: pep)?["verdict"] as? String == "allow")
        #expect(await pdp.stop() == 0)
        try FileManager.default.removeItem(at: file)
        let again = try await PDPProcess.start(directory: directory)
        let listed = try await again.admin("GET", "/v1/workloads").json?["workloads"] as? [[String: Any]]
        let front = try #require(listed?.first { $0["pod"] as? String == "front-1" })
        #expect(front["namespaceLabels"] as? [String: String] == ["team": "payments"])
        let pepAgain = try await again.token("pep")
        #expect(try await again.decide(#"{"source": {"ip": "198.18.6.2"}, "host": "api.stripe.com"}"#, token: pepAgain).json?["verdict"] as? String == "allow")
        #expect(await again.stop() == 0)
    }
}
