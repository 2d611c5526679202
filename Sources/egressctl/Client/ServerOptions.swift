import ArgumentParser
import Foundation

/// Where the admin API is and how to authenticate, shared by every client
/// command. The token is never taken on the command line, where `ps` shows it.
struct ServerOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The admin API (env EGRESSCTL_SERVER; default http://127.0.0.1:15011).", valueName: "url"))
    var server: String?

    @Option(help: ArgumentHelp("File holding a bearer token (env EGRESSCTL_TOKEN_FILE); or set EGRESSCTL_TOKEN.", valueName: "file"))
    var tokenFile: String?

    func client() throws -> AdminClient {
        let env = ProcessInfo.processInfo.environment
        let address = server ?? env["EGRESSCTL_SERVER"] ?? "http://127.0.0.1:15011"
        guard let url = URL(string: address), url.scheme == "http" || url.scheme == "https", url.host != nil else {
            throw ValidationError("--server: expected an http(s) URL, got '\(address)'")
        }
        var token = env["EGRESSCTL_TOKEN"]
        if let path = tokenFile ?? env["EGRESSCTL_TOKEN_FILE"] {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw PolicyFiles.ReadError(path: path, reason: "cannot read the token file")
            }
            token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return AdminClient(server: url, token: token)
    }
}

/// Runs a client command: a refusal prints the server's message (and any
/// diagnostics) and exits 1; an unreadable file exits 2.
func reportingClientErrors(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let failure as AdminClient.Failure {
        for diagnostic in failure.diagnostics {
            StandardStreams.err(diagnostic.rendered + "\n" + (diagnostic.help.map { "    help: \($0)\n" } ?? ""))
        }
        StandardStreams.err("egressctl: \(failure.message)\n")
        throw ExitCode(1)
    } catch let error as PolicyFiles.ReadError {
        StandardStreams.err("egressctl: \(error)\n")
        throw ExitCode(2)
    }
}

/// Milliseconds since 1970 as an ISO 8601 time.
func isoTime(_ milliseconds: Int64) -> String {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    return formatter.string(from: Date(timeIntervalSince1970: Double(milliseconds) / 1000))
}

/// Prints a value as indented JSON.
func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    StandardStreams.out(String(decoding: try encoder.encode(value), as: UTF8.self) + "\n")
}
