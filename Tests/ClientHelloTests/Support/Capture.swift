import ClientHello
import Foundation
import Testing

/// A committed capture: the first bytes a real client sent to capture.py
/// (see Captures/capture.sh for how each one was made).
struct Capture: Sendable, CustomTestStringConvertible {
    let name: String
    let expected: ClientHelloResult

    var testDescription: String { "\(name).bin" }

    var bytes: [UInt8] {
        get throws { try Self.load(name) }
    }

    static func load(_ name: String) throws -> [UInt8] {
        guard let url = Bundle.module.url(forResource: name, withExtension: "bin", subdirectory: "Captures") else {
            throw CaptureMissing(name: name)
        }
        return [UInt8](try Data(contentsOf: url))
    }

    struct CaptureMissing: Error {
        let name: String
    }

    static let curl = Capture(name: "curl", expected: .sni("www.example.com", ech: false))
    static let openssl = Capture(name: "openssl", expected: .sni("api.example.org", ech: false))
    static let opensslNoSNI = Capture(name: "openssl-nosni", expected: .noSNI(ech: false))
    /// Chromium 156 sends a GREASE ECH extension (0xfe0d) to a host without
    /// an ECH config, with the real name as the outer SNI.
    static let chromium = Capture(name: "chromium", expected: .sni("chromium.example.net", ech: true))
    static let http = Capture(name: "http", expected: .notTLS)

    /// The captures that hold a ClientHello.
    static let tls = [curl, openssl, opensslNoSNI, chromium]
    static let all = tls + [http]
}
