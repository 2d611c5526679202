import Foundation
import TestSupport

/// Certificates from a throw-away CA made with the openssl command.
public struct TestCA: Sendable {
    public let directory: URL
    public func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    /// Makes the CA and its certificates, on a thread of its own (see `onOwnThread`).
    public static func make(in directory: URL) async throws -> TestCA {
        try await onOwnThread { try TestCA(directory) }
    }

    private init(_ directory: URL) throws {
        self.directory = directory
        func openssl(_ arguments: [String]) throws {
            let run = try runCommandBlocking("/usr/bin/openssl", arguments, environment: nil)
            guard run.status == 0 else { throw PDPProcess.Failure("openssl \(arguments): \(run.err)") }
        }
        let dir = directory.path
        try openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
                     "-subj", "/CN=test-ca", "-keyout", "\(dir)/ca.key", "-out", "\(dir)/ca.pem"])
        for (name, extensions) in [("server", "subjectAltName=IP:127.0.0.1"), ("client", "subjectAltName=URI:spiffe://test/pep")] {
            try openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=\(name)",
                         "-keyout", "\(dir)/\(name).key", "-out", "\(dir)/\(name).csr"])
            try extensions.write(toFile: "\(dir)/\(name).ext", atomically: true, encoding: .utf8)
            try openssl(["x509", "-req", "-in", "\(dir)/\(name).csr", "-CA", "\(dir)/ca.pem", "-CAkey", "\(dir)/ca.key",
                         "-CAcreateserial", "-days", "2", "-extfile", "\(dir)/\(name).ext", "-out", "\(dir)/\(name).pem"])
        }
    }
}
