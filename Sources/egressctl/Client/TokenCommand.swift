import ArgumentParser
import EgressAPI
import Foundation

struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Create, list and revoke API tokens (admin, viewer, pep or pep-identity).",
        subcommands: [Create.self, List.self, Revoke.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a token and print its secret: it is shown this once, and only its hash is kept.")
        @OptionGroup var connection: ServerOptions
        @Option(help: "A name for the token, recorded in the audit trail of decisions it asks for.") var name: String
        @Option(
            help: "admin, viewer, pep (decisions by source address) or pep-identity (may also assert a source's identity: only for an enforcer that knows it, such as from mTLS).")
        var role: String
        @Option(help: "How long the token works: seconds, or a number with s, m, h or d (90d); without it, until revoked.")
        var expiresIn: String?

        func run() async throws {
            guard let role = Role(rawValue: role) else { throw ValidationError("--role is admin, viewer, pep or pep-identity") }
            var seconds: Int64?
            if let expiresIn {
                guard let parsed = Self.seconds(expiresIn), (1...TokenRequest.maxExpiresIn).contains(parsed) else {
                    throw ValidationError("--expires-in is a duration such as 3600, 30m, 12h or 90d, at most ten years; not '\(expiresIn)'")
                }
                seconds = parsed
            }
            let client = try connection.client()
            try await reportingClientErrors {
                let created = try await client.send(
                    "POST", "v1/tokens", body: TokenRequest(name: name, role: role, expiresIn: seconds), as: CreatedToken.self)
                let expiry = created.expiresAt.map { ", works until \(isoTime($0))" } ?? ""
                StandardStreams.err(
                    "token \(created.id) (\(created.role.rawValue)) created\(expiry); its secret follows and is not shown again\n")
                StandardStreams.out(created.token + "\n")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List live tokens (never their secrets).")
        @OptionGroup var connection: ServerOptions

        func run() async throws {
            let client = try connection.client()
            try await reportingClientErrors {
                for token in try await client.get("v1/tokens", as: TokensPage.self).tokens {
                    let expiry = token.expiresAt.map { "\texpires \(isoTime($0))" } ?? ""
                    StandardStreams.out("\(token.id)\t\(token.role.rawValue)\t\(token.name)\t\(isoTime(token.createdAt))\(expiry)\n")
                }
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a token; it stops working at once.")
        @OptionGroup var connection: ServerOptions
        @Argument(help: "The token's id (from token list).") var id: String

        func run() async throws {
            let client = try connection.client()
            try await reportingClientErrors {
                try await client.raw("DELETE", "v1/tokens/\(id)", body: Optional<Int>.none)
                StandardStreams.out("token \(id) revoked\n")
            }
        }
    }
}

extension TokenCommand.Create {
    /// `3600`, `30s`, `30m`, `12h`, `90d` as seconds; nil if it is none of these.
    static func seconds(_ text: String) -> Int64? {
        let units: [Character: Int64] = ["s": 1, "m": 60, "h": 3600, "d": 86_400]
        var digits = Substring(text)
        var unit: Int64 = 1
        if let last = text.last, let factor = units[last] {
            digits = digits.dropLast()
            unit = factor
        }
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int64(digits), value > 0 else { return nil }
        let (product, overflow) = value.multipliedReportingOverflow(by: unit)
        return overflow ? nil : product
    }
}
