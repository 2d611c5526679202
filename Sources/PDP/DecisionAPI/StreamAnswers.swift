import EgressAPI
import Foundation
import NIOCore
import NIOHPACK
import NIOHTTP1
import NIOHTTP2

/// Writes answers on the streams of a decision API connection, as HTTP/2
/// frames on the connection's context. Only `end` flushes: the handler
/// flushes once per read burst (`channelReadComplete`), so that many answers
/// share one write, and the endpoints that answer later flush themselves.
enum StreamAnswers {
    /// A whole answer: headers, then the body with END_STREAM.
    static func respond(
        _ id: HTTP2StreamID, _ context: ChannelHandlerContext, _ status: HTTPResponseStatus, body buffer: ByteBuffer,
        extra: [(String, String)] = []
    ) {
        // A decision has no content-length: HTTP/2 ends the body with
        // END_STREAM, and the header would cost an encoding and a check on
        // every answer. Refusals keep it: with it, a client still uploading
        // a body (curl) sees the answer is whole and stops.
        var headers = okHeaders
        if status != .ok {
            headers = [":status": String(status.code), "content-type": "application/json"]
            headers.add(name: "content-length", value: String(buffer.readableBytes))
        }
        for (name, value) in extra { headers.add(name: name, value: value) }
        context.write(NIOAny(HTTP2Frame(streamID: id, payload: .headers(.init(headers: headers)))), promise: nil)
        context.write(NIOAny(HTTP2Frame(streamID: id, payload: .data(.init(data: .byteBuffer(buffer), endStream: true)))), promise: nil)
    }

    static func respond(
        _ id: HTTP2StreamID, _ context: ChannelHandlerContext, _ status: HTTPResponseStatus, json: String,
        extra: [(String, String)] = []
    ) {
        respond(id, context, status, body: context.channel.allocator.buffer(string: json), extra: extra)
    }

    /// `{"error": message}` with `status`.
    static func error(_ id: HTTP2StreamID, _ context: ChannelHandlerContext, _ status: HTTPResponseStatus, _ message: String) {
        respond(id, context, status, json: errorJSON(message))
    }

    static func unauthorized(_ id: HTTP2StreamID, _ context: ChannelHandlerContext) {
        respond(
            id, context, .unauthorized, json: errorJSON("a live bearer token of role 'pep' or 'pep-identity' is required"),
            extra: [("www-authenticate", "Bearer")])
    }

    static func methodNotAllowed(_ id: HTTP2StreamID, _ context: ChannelHandlerContext, allow: String) {
        respond(id, context, .methodNotAllowed, json: errorJSON("use \(allow) here"), extra: [("allow", allow)])
    }

    /// The headers of a stream that goes on (a watch): no END_STREAM.
    static func startStream(_ id: HTTP2StreamID, _ context: ChannelHandlerContext, _ headers: HPACKHeaders) {
        context.write(NIOAny(HTTP2Frame(streamID: id, payload: .headers(.init(headers: headers)))), promise: nil)
    }

    /// One more line on a stream that goes on.
    static func line(_ line: String, _ id: HTTP2StreamID, _ context: ChannelHandlerContext) {
        let buffer = context.channel.allocator.buffer(string: line)
        context.write(NIOAny(HTTP2Frame(streamID: id, payload: .data(.init(data: .byteBuffer(buffer))))), promise: nil)
    }

    /// Ends a stream that went on, flushed at once.
    static func end(_ id: HTTP2StreamID, _ context: ChannelHandlerContext) {
        let end = HTTP2Frame.FramePayload.data(.init(data: .byteBuffer(context.channel.allocator.buffer(capacity: 0)), endStream: true))
        context.writeAndFlush(NIOAny(HTTP2Frame(streamID: id, payload: end)), promise: nil)
    }

    private static let okHeaders: HPACKHeaders = [":status": "200", "content-type": "application/json"]

    static func errorJSON(_ message: String) -> String { DecisionAPIError(error: message).json }
}

/// What a `DecodingError` says about a JSON body, in the words of its fields.
enum DecodingProblem {
    static func describe(_ error: Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, let context):
            return "missing field '\(path(context.codingPath + [key]))'"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            return "'\(path(context.codingPath))' has the wrong type"
        case DecodingError.dataCorrupted(let context):
            return context.codingPath.isEmpty ? "the body is not valid JSON" : "'\(path(context.codingPath))' is invalid"
        default:
            return "\(error)"
        }
    }

    private static func path(_ keys: [CodingKey]) -> String {
        keys.map { $0.intValue.map { "[\($0)]" } ?? "." + $0.stringValue }.joined().trimmingCharacters(in: ["."])
    }
}
