import Foundation
import Testing
import ServiceTestSupport

/// The Unix socket and h2 over TLS with client certificates.
@Suite(.serialized) struct ListenerTests {
    @Test func theUnixSocketIsGuardedByItsPermissions() async throws {
        let pdp = try await PDPProcess.start(unixSocket: true)
        let socket = try #require(pdp.unixSocket)
        let mode = try FileManager.default.attributesOfItem(atPath: socket)[.posixPermissions] as? NSNumber
        #expect(mode?.intValue == 0o660)
        let answer = try await Curl.run([
            "--http2-prior-knowledge", "--unix-socket", socket, "-X", "POST", "http://pdp/v1/decisions",
            "-H", "content-type: application/json", "-d", #"{"host": "a.com"}"#,
        ])
        #expect(answer.status == 200, "\(answer)")
        _ = try await pdp.waitForAudit(records: 1)
        let record = try #require((try await pdp.admin("GET", "/v1/audit").json?["records"] as? [[String: Any]])?.first)
        #expect(record["enforcer"] as? String == "unix-socket")
    }

    @Test func tlsNeedsAClientCertificateFromTheTrustedCA() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pdp-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let ca = try await TestCA.make(in: directory)
        let pdp = try await PDPProcess.start(
            ["--tls-listen", "127.0.0.1:0", "--tls-cert", ca.path("server.pem"), "--tls-key", ca.path("server.key"),
             "--tls-client-ca", ca.path("ca.pem")],
            directory: directory, removesDirectory: true)
        let url = "https://127.0.0.1:\(pdp.tlsPort)/v1/decisions"
        let common = ["--http2", "--cacert", ca.path("ca.pem"), "-X", "POST", url, "-H", "content-type: application/json",
                      "-d", #"{"host": "a.com"}"#]
        let withCertificate = try await Curl.run(common + ["--cert", ca.path("client.pem"), "--key", ca.path("client.key")])
        #expect(withCertificate.status == 200, "\(withCertificate)")
        #expect(withCertificate.json?["verdict"] as? String == "deny")
        let without = try await Curl.run(common)
        #expect(without.status == 0, "a client without a certificate must not get an answer: \(without)")
        _ = try await pdp.waitForAudit(records: 1)
        let record = try #require((try await pdp.admin("GET", "/v1/audit").json?["records"] as? [[String: Any]])?.first)
        #expect((record["enforcer"] as? String)?.hasPrefix("cert:") == true)
    }
}
