import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import StreamLines

/// Lists and watches of the Kubernetes API over one `HTTPClient`, as the
/// API concepts document describes: lists in pages (`limit`, `continue`),
/// watches from a list's `resourceVersion` with bookmarks and a server-side
/// timeout, one JSON event per line.
public final class KubernetesAPI: Sendable {
    /// The API server answered with an error status.
    public struct Failure: Error, CustomStringConvertible {
        public let code: Int
        public let message: String
        /// 410 Gone: the resourceVersion (or continue token) is too old; list again.
        public var isGone: Bool { code == 410 }
        public var description: String { "the Kubernetes API answered \(code): \(message)" }
    }

    /// A list or watch line larger than this is refused, not buffered.
    public static let maxListBytes = 256 << 20
    public static let maxEventBytes = 4 << 20

    private let connection: KubernetesConnection
    private let client: HTTPClient

    public init(connection: KubernetesConnection) throws {
        self.connection = connection
        var configuration = HTTPClient.Configuration(tlsConfiguration: try connection.tlsConfiguration())
        configuration.timeout = .init(connect: .seconds(5), read: .seconds(90))
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    public func shutdown() async throws {
        try await client.shutdown()
    }

    private func request(_ path: String, _ query: [(String, String)]) throws -> HTTPClientRequest {
        var components = URLComponents()
        components.queryItems = query.map { URLQueryItem(name: $0.0, value: $0.1) }
        var request = HTTPClientRequest(url: connection.server + path + (query.isEmpty ? "" : "?" + (components.percentEncodedQuery ?? "")))
        request.headers.add(name: "Accept", value: "application/json")
        if let authorization = try connection.authorization() { request.headers.add(name: "Authorization", value: authorization) }
        return request
    }

    /// Every page of the list at `path`, and the list's resourceVersion.
    public func list<Item: Codable & Sendable>(
        _ path: String, as type: Item.Type, pageSize: Int = 500
    ) async throws -> (items: [Item], resourceVersion: String) {
        var items: [Item] = []
        var next: String?
        repeat {
            var query = [("limit", String(pageSize))]
            if let next { query.append(("continue", next)) }
            let response = try await client.execute(try request(path, query), timeout: .seconds(60))
            let body = try await response.body.collect(upTo: Self.maxListBytes)
            guard response.status.code == 200 else { throw Self.failure(response.status.code, body) }
            let page = try JSONDecoder().decode(Kubernetes.List<Item>.self, from: Data(buffer: body))
            items += page.items
            next = page.metadata.continue.flatMap { $0.isEmpty ? nil : $0 }
            if next == nil { return (items, page.metadata.resourceVersion ?? "") }
        } while true
    }

    /// Watches `path` from `resourceVersion` until the server ends the
    /// stream (after `timeoutSeconds`) or it fails, handing each event to
    /// `event`. An ERROR event is thrown as a `Failure` (410: list again).
    public func watch<Object: Codable & Sendable>(
        _ path: String, as type: Object.Type, from resourceVersion: String, timeoutSeconds: Int,
        event: (Kubernetes.WatchEvent<Object>.Kind, Object) async throws -> Void
    ) async throws {
        let query = [
            ("watch", "1"), ("resourceVersion", resourceVersion), ("allowWatchBookmarks", "true"),
            ("timeoutSeconds", String(timeoutSeconds)),
        ]
        let response = try await client.execute(try request(path, query), timeout: .seconds(Int64(timeoutSeconds + 30)))
        guard response.status.code == 200 else {
            throw Self.failure(response.status.code, try await response.body.collect(upTo: 1 << 16))
        }
        var lines = WatchLines(maxLineBytes: Self.maxEventBytes)
        for try await chunk in response.body {
            for line in try lines.feed(chunk) { try await handle(line, as: type, event: event) }
        }
        // A line cut short by a dropped connection is not an event.
    }

    private func handle<Object: Codable & Sendable>(
        _ line: ByteBuffer, as type: Object.Type, event: (Kubernetes.WatchEvent<Object>.Kind, Object) async throws -> Void
    ) async throws {
        let data = Data(buffer: line)
        let decoded: Kubernetes.WatchEvent<Object>
        do {
            decoded = try JSONDecoder().decode(Kubernetes.WatchEvent<Object>.self, from: data)
        } catch {
            // An ERROR event carries a Status, which is not the object: read
            // only when the object does not decode (once per event otherwise).
            if let status = try? JSONDecoder().decode(Kubernetes.WatchEvent<Kubernetes.Status>.self, from: data), status.type == .error {
                throw Failure(code: status.object.code ?? 0, message: status.object.message ?? "an ERROR event")
            }
            throw error
        }
        try await event(decoded.type, decoded.object)
    }

    private static func failure(_ code: UInt, _ body: ByteBuffer) -> Failure {
        let status = try? JSONDecoder().decode(Kubernetes.Status.self, from: Data(buffer: body))
        return Failure(code: Int(code), message: status?.message ?? String(buffer: body).prefix(300).description)
    }
}
