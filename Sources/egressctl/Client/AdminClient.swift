import EgressAPI
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Talks to egress-pdp's admin API.
struct AdminClient: Sendable {
    /// A refusal or failure, with what the server said.
    struct Failure: Error, CustomStringConvertible {
        let message: String
        let diagnostics: [DiagnosticRecord]
        var description: String { message }
    }

    let server: URL
    let token: String?

    func get<T: Decodable>(_ path: String, query: [URLQueryItem] = [], as type: T.Type) async throws -> T {
        try await send("GET", path, query: query, body: Optional<Int>.none, as: type)
    }

    func send<Body: Encodable, T: Decodable>(
        _ method: String, _ path: String, query: [URLQueryItem] = [], body: Body?, as type: T.Type
    ) async throws -> T {
        let data = try await raw(method, path, query: query, body: body)
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch {
            throw Failure(message: "unexpected answer from \(server.absoluteString)\(path): \(error)", diagnostics: [])
        }
    }

    /// Sends a request and returns the body of a 2xx answer; anything else
    /// becomes a `Failure` carrying the server's message and diagnostics.
    @discardableResult
    func raw<Body: Encodable>(_ method: String, _ path: String, query: [URLQueryItem] = [], body: Body?) async throws -> Data {
        guard var components = URLComponents(url: server.appendingPathComponent(path), resolvingAgainstBaseURL: false) else {
            throw Failure(message: "bad server address \(server)", diagnostics: [])
        }
        if !query.isEmpty { components.queryItems = query }
        guard let url = components.url else { throw Failure(message: "bad server address \(server)", diagnostics: []) }
        var request = URLRequest(url: url)
        request.httpMethod = method
        request.timeoutInterval = 30
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        if let body {
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.httpBody = try JSONEncoder().encode(body)
        }
        let (data, response): (Data, URLResponse)
        do {
            (data, response) = try await URLSession.shared.data(for: request)
        } catch {
            throw Failure(
                message: "cannot reach egress-pdp at \(server.absoluteString): \(error.localizedDescription)", diagnostics: [])
        }
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        guard (200..<300).contains(status) else {
            let answer = try? JSONDecoder().decode(ErrorBody.self, from: data)
            var message = answer?.error ?? String(decoding: data.prefix(500), as: UTF8.self)
            if status == 401 { message += " (give a token with --token-file or EGRESSCTL_TOKEN)" }
            throw Failure(message: "\(method) \(path): \(status): \(message)", diagnostics: answer?.diagnostics ?? [])
        }
        return data
    }
}
