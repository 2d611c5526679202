import Foundation
import ServiceTestSupport
import Testing
import TestSupport

/// egress-pdp following a Kubernetes API server: the stand-in of
/// Tests/Support/kube_apiserver.py (no real API server can run here), over
/// TLS from the test CA, with a bearer token from a file.
struct KubernetesInventoryTests {
    /// The stand-in API server and what a kubeconfig needs to reach it.
    final class APIServer: @unchecked Sendable {
        let directory: URL
        let process = Process()
        let port: Int
        var tokenFile: String { directory.appendingPathComponent("tokens").path }
        var kubeconfig: String { directory.appendingPathComponent("kubeconfig").path }

        init() async throws {
            directory = FileManager.default.temporaryDirectory.appendingPathComponent("kube-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let ca = try await TestCA.make(in: directory)
            try "token-1\n".write(toFile: directory.appendingPathComponent("tokens").path, atomically: true, encoding: .utf8)
            let out = Pipe()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
            process.arguments = [
                PDPProcess.repository.appendingPathComponent("Tests/Support/kube_apiserver.py").path,
                "--cert", ca.path("server.pem"), "--key", ca.path("server.key"), "--client-ca", ca.path("ca.pem"),
                "--token-file", directory.appendingPathComponent("tokens").path, "--bookmark-every", "0.5",
            ]
            process.standardOutput = out
            try process.run()
            let line = try await onOwnThread { out.fileHandleForReading.availableData }
            guard let port = Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) else {
                throw PDPProcess.Failure("the stand-in API server printed no port")
            }
            self.port = port
            // The client reads its token from a file of its own: rotated by the test.
            try "token-1\n".write(toFile: directory.appendingPathComponent("client-token").path, atomically: true, encoding: .utf8)
            try """
                apiVersion: v1
                kind: Config
                clusters: [{name: test, cluster: {server: "https://127.0.0.1:\(port)", certificate-authority: ca.pem}}]
                users: [{name: pdp, user: {tokenFile: client-token}}]
                contexts: [{name: test, context: {cluster: test, user: pdp}}]
                current-context: test
                """.write(toFile: kubeconfig, atomically: true, encoding: .utf8)
        }

        deinit {
            // SIGKILL: started from a test's thread, it may have SIGTERM blocked.
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            try? FileManager.default.removeItem(at: directory)
        }

        /// Stops it at once, as a crashed or unreachable API server would be.
        func stop() async throws {
            kill(process.processIdentifier, SIGKILL)
            try await onOwnThread { [process] in process.waitUntilExit() }
        }

        /// A request to the stand-in's /_test/ control paths.
        @discardableResult
        func control(_ method: String, _ path: String, _ body: String? = nil) async throws -> Curl.Answer {
            var arguments = ["-X", method, "--cacert", directory.appendingPathComponent("ca.pem").path, "https://127.0.0.1:\(port)/_test/\(path)"]
            if let body { arguments += ["-d", body] }
            return try await Curl.run(arguments)
        }

        func pod(_ name: String, namespace: String = "shop", labels: [String: String], ip: String, phase: String = "Running") async throws {
            let labelsJSON = String(decoding: try JSONSerialization.data(withJSONObject: labels), as: UTF8.self)
            try await control(
                "POST", "pods",
                #"{"metadata": {"name": "\#(name)", "namespace": "\#(namespace)", "labels": \#(labelsJSON)}, "spec": {"serviceAccountName": "checkout"}, "status": {"phase": "\#(phase)", "podIPs": [{"ip": "\#(ip)"}]}}"#)
        }

        func namespace(_ name: String, labels: [String: String]) async throws {
            let labelsJSON = String(decoding: try JSONSerialization.data(withJSONObject: labels), as: UTF8.self)
            try await control("POST", "namespaces", #"{"metadata": {"name": "\#(name)", "labels": \#(labelsJSON)}}"#)
        }
    }

    static let policy = #"""
        {"files": [{"path": "a.egress", "content": "allow app=web, nslabel:team=payments -> api.stripe.com as web\nallow spiffe:spiffe://test.example/ns/shop/sa/checkout -> spiffe.example\n"}], "reason": "k8s"}
        """#

    /// Polls the decision for `ip` until it is `expected` or 5 s pass; returns how long it took.
    static func awaitVerdict(_ pdp: PDPProcess, _ token: String, ip: String, host: String = "api.stripe.com", _ expected: String) async throws -> Duration? {
        let started = ContinuousClock.now
        while ContinuousClock.now - started < .seconds(5) {
            let answer = try await pdp.decide(#"{"source": {"ip": "\#(ip)"}, "host": "\#(host)"}"#, token: token)
            if answer.json?["verdict"] as? String == expected { return ContinuousClock.now - started }
            await pause(0.02)
        }
        return nil
    }

    @Test func podsAndNamespacesFromTheAPIDecideAndFollowEveryChange() async throws {
        let api = try await APIServer()
        try await api.namespace("shop", labels: ["team": "payments"])
        for i in 1...7 { try await api.pod("web-\(i)", labels: ["app": "web"], ip: "198.18.8.\(i)") }
        let pdp = try await PDPProcess.start(["--kubeconfig", api.kubeconfig, "--trust-domain", "test.example"])
        #expect(try await pdp.admin("POST", "/v1/revisions", body: Self.policy).status == 201)
        let pep = try await pdp.token("pep")

        // The initial list, in pages of the stand-in's default: every pod is known.
        #expect(try await Self.awaitVerdict(pdp, pep, ip: "198.18.8.7", "allow") != nil)
        #expect(try await Self.awaitVerdict(pdp, pep, ip: "198.18.8.1", host: "spiffe.example", "allow") != nil)
        #expect(try await pdp.admin("GET", "/readyz").status == 200)

        // A pod's label change turns its next decision within a second.
        try await api.pod("web-1", labels: ["app": "batch"], ip: "198.18.8.1")
        let relabelled = try await Self.awaitVerdict(pdp, pep, ip: "198.18.8.1", "deny")
        #expect(relabelled.map { $0 < .seconds(1) } == true, "\(String(describing: relabelled))")
        // So does the namespace's.
        try await api.namespace("shop", labels: ["team": "web"])
        #expect(try await Self.awaitVerdict(pdp, pep, ip: "198.18.8.2", "deny") != nil)
        try await api.namespace("shop", labels: ["team": "payments"])
        #expect(try await Self.awaitVerdict(pdp, pep, ip: "198.18.8.2", "allow") != nil)

        // An address moves from a deleted pod to a new one in another namespace.
        try await api.control("DELETE", "pods/shop/web-3")
        #expect(try await Self.awaitVerdict(pdp, pep, ip: "198.18.8.3", "deny") != nil)
        try await api.namespace("ci", labels: ["team": "payments"])
        try await api.pod("runner", namespace: "ci", labels: ["app": "web"], ip: "198.18.8.3")
        #expect(try await Self.awaitVerdict(pdp, pep, ip: "198.18.8.3", "allow") != nil)
        // A finished pod lets its address go.
        try await api.pod("runner", namespace: "ci", labels: ["app": "web"], ip: "198.18.8.3", phase: "Succeeded")
        #expect(try await Self.awaitVerdict(pdp, pep, ip: "198.18.8.3", "deny") != nil)

        // Two live pods on one address: neither identity holds, and it is counted.
        try await api.pod("twin", labels: ["app": "web"], ip: "198.18.8.4")
        #expect(try await Self.awaitVerdict(pdp, pep, ip: "198.18.8.4", "deny") != nil)
        let metrics = try await pdp.admin("GET", "/metrics").body
        #expect(metrics.contains("egress_pdp_inventory_conflicts 1"), "\(metrics.split(separator: "\n").filter { $0.contains("conflicts") })")
        let deletion = try await api.control("DELETE", "pods/shop/twin")
        let released = try await Self.awaitVerdict(pdp, pep, ip: "198.18.8.4", "allow")
        let answer = try await pdp.decide(#"{"source": {"ip": "198.18.8.4"}, "host": "api.stripe.com"}"#, token: pep)
        let conflicts = try await pdp.admin("GET", "/metrics").body.split(separator: "\n").filter { $0.contains("conflicts") || $0.contains("events_total") }
        #expect(released != nil, "\(deletion) \(answer) \(conflicts)")

        // A watch cut in the middle of an event: the change still arrives.
        try await api.control("POST", "cut")
        try await api.pod("web-5", labels: ["app": "batch"], ip: "198.18.8.5")
        #expect(try await Self.awaitVerdict(pdp, pep, ip: "198.18.8.5", "deny") != nil)

        // Hostile watch lines (not JSON; 5 MiB, past the 4 MiB cap) fail the
        // watch, which is opened again from the last version: nothing is lost.
        for junk in ["garbage", "huge"] {
            try await api.control("POST", "junk", #"{"kind": "\#(junk)"}"#)
            await pause(0.2)
            try await api.pod("web-5", labels: ["app": junk == "huge" ? "batch" : "web"], ip: "198.18.8.5")
            #expect(try await Self.awaitVerdict(pdp, pep, ip: "198.18.8.5", junk == "huge" ? "deny" : "allow") != nil, "after \(junk)")
        }
        // (Which error ends the 5 MiB line varies: the 4 MiB cap, or the
        // stand-in's stream ending first; either way nothing is held or lost.)

        // The change log compacted: the watch gets 410 and lists again.
        try await api.control("POST", "compact")
        try await api.control("POST", "cut")
        try await api.pod("web-6", labels: ["app": "batch"], ip: "198.18.8.6")
        #expect(try await Self.awaitVerdict(pdp, pep, ip: "198.18.8.6", "deny") != nil)

        // The token rotates: the old one stops working, the file's new one is used.
        try "token-2\n".write(toFile: api.tokenFile, atomically: true, encoding: .utf8)
        try "token-2\n".write(toFile: api.directory.appendingPathComponent("client-token").path, atomically: true, encoding: .utf8)
        try await api.control("POST", "cut")
        try await api.pod("web-7", labels: ["app": "batch"], ip: "198.18.8.7")
        #expect(try await Self.awaitVerdict(pdp, pep, ip: "198.18.8.7", "deny") != nil)

        let after = try await pdp.admin("GET", "/metrics").body
        for metric in ["egress_pdp_kubernetes_lists_total", "egress_pdp_kubernetes_events_total{type=\"MODIFIED\"}", "egress_pdp_kubernetes_last_sync_timestamp_seconds"] {
            #expect(after.contains(metric), "\(metric)")
        }
        #expect(await pdp.stop() == 0)
    }

    @Test func notReadyUntilTheAPIAnswersThenDecisionsOutliveIt() async throws {
        let api = try await APIServer()
        try await api.namespace("shop", labels: ["team": "payments"])
        try await api.pod("web-1", labels: ["app": "web"], ip: "198.18.8.1")
        // A wrong token first: the API refuses every list.
        try "wrong\n".write(toFile: api.directory.appendingPathComponent("client-token").path, atomically: true, encoding: .utf8)
        let pdp = try await PDPProcess.start(["--kubeconfig", api.kubeconfig, "--trust-domain", "test.example"])
        #expect(try await pdp.admin("POST", "/v1/revisions", body: Self.policy).status == 201)
        let pep = try await pdp.token("pep")
        await pause(0.5)
        #expect(try await pdp.admin("GET", "/readyz").status == 503)
        try "token-1\n".write(toFile: api.directory.appendingPathComponent("client-token").path, atomically: true, encoding: .utf8)
        #expect(try await Self.awaitVerdict(pdp, pep, ip: "198.18.8.1", "allow") != nil)
        #expect(try await pdp.admin("GET", "/readyz").status == 200)
        // The API server goes away: decisions go on from the last known state.
        try await api.stop()
        await pause(1)
        #expect(try await pdp.decide(#"{"source": {"ip": "198.18.8.1"}, "host": "api.stripe.com"}"#, token: pep).json?["verdict"] as? String == "allow")
        #expect(try await pdp.admin("GET", "/readyz").status == 200)
        #expect(pdp.log.contains("the Kubernetes API failed; decisions go on from the last known state"))
        // How long the inventory has gone without news shows, and grows.
        func sinceSync() async throws -> Double? {
            try await pdp.admin("GET", "/metrics").body.split(separator: "\n")
                .first { $0.hasPrefix("egress_pdp_kubernetes_seconds_since_sync ") }
                .flatMap { Double($0.split(separator: " ").last ?? "") }
        }
        let first = try #require(try await sinceSync())
        await pause(1.2)
        let later = try #require(try await sinceSync())
        #expect(first >= 0.9 && later >= first + 1, "\(first) then \(later)")
    }
}
