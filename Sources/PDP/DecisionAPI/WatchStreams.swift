import Foundation
import NIOCore
import NIOHPACK
import NIOHTTP2

/// `GET /v1/watch` on one connection: the streams that follow policy and
/// inventory changes (newline-delimited JSON), each ended when its token
/// is revoked or expires. Used on the connection's event loop only.
final class WatchStreams {
    private struct Watch {
        let subscription: UUID
        /// The bearer token it was opened with; nil on a connection trusted as
        /// a whole (the Unix socket, a client certificate).
        let authorization: String?
        /// Ends the stream when its token expires.
        var expiry: Scheduled<Void>?
    }

    private let engine: DecisionEngine
    private let authenticator: EnforcerAuthenticator
    private var watches: [HTTP2StreamID: Watch] = [:]

    init(engine: DecisionEngine, authenticator: EnforcerAuthenticator) {
        self.engine = engine
        self.authenticator = authenticator
    }

    var count: Int { watches.count }
    var isEmpty: Bool { watches.isEmpty }

    /// Opens a watch on stream `id`. `token`: the `authorization` the stream
    /// came with and when its token expires; nil on a connection trusted as
    /// a whole.
    func start(_ id: HTTP2StreamID, _ context: ChannelHandlerContext, token: (authorization: String, expiresAt: Int64?)?) {
        StreamAnswers.startStream(id, context, [":status": "200", "content-type": "application/x-ndjson", "cache-control": "no-store"])
        let loop = context.eventLoop
        let bound = NIOLoopBound((self, context), eventLoop: loop)
        stop(id)
        // Subscribed before the current state is read: a change in between
        // is then sent twice rather than missed.
        let subscription = engine.watchers.subscribe { signal in
            loop.execute {
                let (watches, context) = bound.value
                guard let watch = watches.watches[id] else { return }
                // Revoked or expired: nothing more is sent on it.
                if let authorization = watch.authorization, watches.authenticator.enforcerRecord(authorization: authorization) == nil {
                    return watches.end(id, context)
                }
                if case .event(let event) = signal {
                    StreamAnswers.line(event.jsonLine, id, context)
                    context.flush()
                }
            }
        }
        var watch = Watch(subscription: subscription, authorization: token?.authorization)
        if let expiresAt = token?.expiresAt {
            watch.expiry = loop.scheduleTask(in: .milliseconds(max(0, expiresAt - nowMilliseconds()) + 1)) {
                let (watches, context) = bound.value
                if watches.watches[id] != nil { watches.end(id, context) }
            }
        }
        watches[id] = watch
        StreamAnswers.line(engine.watchState.jsonLine, id, context)
    }

    /// Forgets a watch whose stream closed.
    func stop(_ id: HTTP2StreamID) {
        guard !watches.isEmpty, let watch = watches.removeValue(forKey: id) else { return }
        engine.watchers.unsubscribe(watch.subscription)
        watch.expiry?.cancel()
    }

    func stopAll() {
        for id in Array(watches.keys) { stop(id) }
    }

    /// Ends a watch stream whose token is no longer live. The enforcer sees
    /// the stream end, watches again, and is told 401 unless it has a new token.
    private func end(_ id: HTTP2StreamID, _ context: ChannelHandlerContext) {
        stop(id)
        StreamAnswers.end(id, context)
    }
}
