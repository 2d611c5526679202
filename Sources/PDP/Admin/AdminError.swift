import EgressAPI
import Foundation
import HTTPTypes
import Hummingbird

/// An admin API error: `{"error": "...", "diagnostics": [...]}` with a status.
struct AdminError: HTTPResponseError {
    let status: HTTPResponse.Status
    let message: String
    var diagnostics: [DiagnosticRecord]? = nil

    init(_ status: HTTPResponse.Status, _ message: String, diagnostics: [DiagnosticRecord]? = nil) {
        self.status = status
        self.message = message
        self.diagnostics = diagnostics
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        var response = try AdminJSON.response(ErrorBody(error: message, diagnostics: diagnostics), status: status)
        if status == .unauthorized { response.headers[.wwwAuthenticate] = "Bearer" }
        return response
    }
}

enum AdminJSON {
    static func response(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(value)
        return Response(
            status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// Reads and decodes a JSON body, with an error that names the field. A
    /// `ClosedJSONObject` body with a field it does not have is refused, not
    /// read past.
    static func decode<T: Decodable>(_ type: T.Type, from request: Request, limit: Int = 16 << 20) async throws -> T {
        try await decode(type, body: request.body, headers: request.headers, limit: limit)
    }

    /// `decode(_:from:limit:)` for a body taken apart from its request (as
    /// `consumeWithInboundCloseHandler` hands it over).
    static func decode<T: Decodable>(_ type: T.Type, body: RequestBody, headers: HTTPFields, limit: Int = 16 << 20) async throws -> T {
        if let contentType = headers[.contentType], !contentType.lowercased().hasPrefix("application/json") {
            throw AdminError(.unsupportedMediaType, "the body must be application/json, not \(contentType)")
        }
        let buffer: ByteBuffer
        do {
            buffer = try await body.collect(upTo: limit)
        } catch {
            throw AdminError(.contentTooLarge, "the body is larger than \(limit) bytes")
        }
        guard buffer.readableBytes > 0 else { throw AdminError(.badRequest, "the body is empty; expected a JSON object") }
        if let closed = T.self as? ClosedJSONObject.Type,
            let object = try? JSONSerialization.jsonObject(with: Data(buffer.readableBytesView)) as? [String: Any],
            let unknown = object.keys.sorted().first(where: { !closed.fieldNames.contains($0) })
        {
            throw AdminError(
                .badRequest, "unknown field '\(unknown)'; the body has \(closed.fieldNames.sorted().joined(separator: ", "))")
        }
        do {
            return try JSONDecoder().decode(T.self, from: Data(buffer.readableBytesView))
        } catch {
            throw AdminError(.badRequest, "malformed body: \(DecodingProblem.describe(error))")
        }
    }
}

/// A request body whose fields are all known: any other is refused (400),
/// where a misspelt optional field, ignored, would silently change meaning
/// (`expires_in` for `expiresIn` made a token that never expires).
protocol ClosedJSONObject {
    static var fieldNames: Set<String> { get }
}

extension TokenRequest: ClosedJSONObject {
    static let fieldNames: Set<String> = ["name", "role", "expiresIn"]
}
