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

        func run() async throws {
            guard let role = Role(rawValue: role) else { throw ValidationError("--role is admin, viewer, pep or pep-identity") }
            let client = try connection.client()
            try await reportingClientErrors {
                let created = try await client.send("POST", "v1/tokens", body: TokenRequest(name: name, role: role), as: CreatedToken.self)
                StandardStreams.err("token \(created.id) (\(created.role.rawValue)) created; its secret follows and is not shown again\n")
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
                    StandardStreams.out("\(token.id)\t\(token.role.rawValue)\t\(token.name)\t\(isoTime(token.createdAt))\n")
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
