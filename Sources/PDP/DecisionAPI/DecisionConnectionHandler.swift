import ConnectionLimits
import EgressAPI
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import NIOConcurrencyHelpers
import NIOHPACK
import NIOHTTP1
import NIOHTTP2

/// Serves every stream of one HTTP/2 connection of the decision API, on the
/// connection's frames directly. There is no channel per stream and no
/// translation to HTTP/1 types: together those cost more than the decision.
/// A stream that goes wrong answers with an error and ends; the other streams
/// of its connection never notice.
///
/// Without NIO's stream multiplexer this handler also gives back inbound
/// flow-control credit (WINDOW_UPDATE), following the windows NIO reports.
/// The token is checked when a request's headers arrive, before any of its
/// body is kept, and bodies held across all connections share one budget.
final class DecisionConnectionHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTP2Frame
    typealias OutboundOut = HTTP2Frame

    /// Why the service closed a connection (a metric's label).
    enum CloseReason: String, CaseIterable {
        case prefaceTimeout = "preface-timeout"
        case idleTimeout = "idle-timeout"
        /// Its source reset more streams than `maxResetsPerSource` allows.
        case resetLimit = "reset-limit"
        /// It left more answers unread than `maxBufferedAnswers`.
        case bufferedAnswers = "buffered-answers"
    }

    private let engine: DecisionEngine
    private let authenticator: EnforcerAuthenticator
    private var connection: EnforcerAuthenticator.Connection
    private let cache: EnforcerAuthenticator.ConnectionCache
    private let inFlight: InFlightCounter
    private var streams = OpenStreams<ReceivedRequest>()
    /// The highest stream ID a request has opened on this connection.
    private var lastOpened = HTTP2StreamID.rootStream
    /// This read's decisions for the audit trail, their room reserved;
    /// submitted to the writer in one go at the end of the read (just after
    /// NIOHTTP2Handler flushed their answers; the backlog bound was taken
    /// before each was answered).
    private var auditBurst: [PendingAudit] = []
    /// The endpoints whose streams outlast their request's read.
    private let watches: WatchStreams
    private let access: AccessEndpoint
    private let router: DecisionRouter
    private let budget: BoundedCount
    private let limits: DecisionLimits
    private let admission: ConnectionAdmission
    /// The peer's address, the key of its share and its reset count.
    private let source: String
    private let metrics: PDPMetrics
    private var deadlines: ConnectionDeadlines
    private var ticker: RepeatedTask?
    /// Bytes this connection's streams hold of the budget.
    private var held = 0
    /// Streams NIO has open on this connection: those being received,
    /// watched or waiting for the audit writer, and answered ones whose
    /// answer the client's flow-control window still holds back.
    private var nioStreams = 0
    /// Streams reset in this read burst, by the client or by NIO for a
    /// stream error it made (both cost the service the same), counted
    /// against the source.
    private var resetsThisRead = 0

    /// The connection window this side keeps open (the protocol starts at 64 KiB).
    static let connectionWindow = 1 << 20
    /// Each stream's window (SETTINGS_INITIAL_WINDOW_SIZE), reopened as data is consumed.
    static let streamWindow = 256 * 1024

    /// For TLS: names the enforcer by its client certificate, once the
    /// handshake is done (at the first request).
    private let certificateName: ((Channel) -> String?)?
    private var certificateNameResolved = false

    init(
        engine: DecisionEngine, authenticator: EnforcerAuthenticator, connection: EnforcerAuthenticator.Connection,
        cache: EnforcerAuthenticator.ConnectionCache, inFlight: InFlightCounter, budget: BoundedCount,
        limits: DecisionLimits, admission: ConnectionAdmission, source: String, metrics: PDPMetrics,
        certificateName: ((Channel) -> String?)? = nil
    ) {
        self.budget = budget
        self.limits = limits
        self.admission = admission
        self.source = source
        self.metrics = metrics
        deadlines = ConnectionDeadlines(preface: limits.prefaceTimeout, idle: limits.idleTimeout, request: limits.requestTimeout)
        self.certificateName = certificateName
        self.cache = cache
        self.engine = engine
        self.authenticator = authenticator
        self.connection = connection
        self.inFlight = inFlight
        let watches = WatchStreams(engine: engine, authenticator: authenticator)
        let access = AccessEndpoint(engine: engine, inFlight: inFlight)
        self.watches = watches
        self.access = access
        router = DecisionRouter(
            engine: engine, authenticator: authenticator, metrics: metrics, watches: watches, access: access,
            bodyBudgetPerConnection: limits.bodyBudgetPerConnection)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive {
            openConnectionWindow(context)
            startClock(context)
        }
    }

    func channelActive(context: ChannelHandlerContext) {
        openConnectionWindow(context)
        startClock(context)
        context.fireChannelActive()
    }

    // MARK: Limits

    private func startClock(_ context: ChannelHandlerContext) {
        guard ticker == nil else { return }
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        ticker = context.eventLoop.scheduleRepeatedTask(initialDelay: deadlines.tick, delay: deadlines.tick) { _ in
            let (handler, context) = bound.value
            handler.tick(context)
        }
    }

    private func tick(_ context: ChannelHandlerContext) {
        let busy = !streams.isEmpty || !watches.isEmpty || access.count > 0
        if let expiry = deadlines.advance(busy: busy) {
            switch expiry {
            case .prefaceTimeout: return close(context, .prefaceTimeout, goAway: nil)
            case .idleTimeout: return close(context, .idleTimeout, goAway: .noError)
            }
        }
        guard !streams.isEmpty else { return }
        let expired = streams.ids { deadlines.requestExpired(openedAt: $0.openedAt) }
        for id in expired {
            forget(id)
            metrics.requestsTimedOut.increment()
            // The answer, then a reset that tells the client to stop sending
            // (RFC 9113, 8.1: a complete response before the request is).
            StreamAnswers.error(id, context, .requestTimeout, "the request's body did not arrive within \(limits.requestTimeout.nanoseconds / 1_000_000) ms")
            context.write(wrapOutboundOut(HTTP2Frame(streamID: id, payload: .rstStream(.noError))), promise: nil)
        }
        if !expired.isEmpty { context.flush() }
    }

    /// Closes the connection for `reason`, with a GOAWAY first if given.
    private func close(_ context: ChannelHandlerContext, _ reason: CloseReason, goAway code: HTTP2ErrorCode?) {
        guard context.channel.isActive else { return }
        metrics.connectionsClosed[reason]?.increment()
        if let code {
            let frame = HTTP2Frame(streamID: .rootStream, payload: .goAway(lastStreamID: lastOpened, errorCode: code, opaqueData: nil))
            context.writeAndFlush(wrapOutboundOut(frame), promise: nil)
        }
        context.close(promise: nil)
    }

    /// At the end of a read burst: the source's resets, and answers the
    /// client leaves unread.
    private func checkAbuse(_ context: ChannelHandlerContext) {
        if resetsThisRead > 0 {
            let count = resetsThisRead
            resetsThisRead = 0
            if admission.recordResets(source, count: count) { return close(context, .resetLimit, goAway: .enhanceYourCalm) }
        }
        if unreadAnswers > limits.maxBufferedAnswers { close(context, .bufferedAnswers, goAway: .enhanceYourCalm) }
    }

    /// Answers written that the client has not taken: streams NIO holds
    /// open that are not being received, watched or recorded.
    private var unreadAnswers: Int { nioStreams - streams.count - watches.count - access.count }

    /// A new stream opened. Checked here as well as at the end of a read,
    /// because a client that never opens its windows can send a thousand
    /// requests in one read. Answers not yet flushed count as unread, so
    /// they are flushed first: a client that reads them is never closed.
    private func streamOpened(_ context: ChannelHandlerContext) {
        nioStreams += 1
        guard unreadAnswers > limits.maxBufferedAnswers else { return }
        context.flush()
        if unreadAnswers > limits.maxBufferedAnswers { close(context, .bufferedAnswers, goAway: .enhanceYourCalm) }
    }

    /// Gives back every reservation of the connection's streams: on every
    /// way a connection ends (closed by either side, reset, GOAWAY, a
    /// timeout), whether or not NIO reports its streams closed.
    private func releaseEverything() {
        ticker?.cancel()
        ticker = nil
        for stream in streams.removeAll() { budget.release(stream.reserved) }
        held = 0
        access.forgetAll()
    }

    private var windowOpened = false

    private func openConnectionWindow(_ context: ChannelHandlerContext) {
        guard !windowOpened else { return }
        windowOpened = true
        let increment = Self.connectionWindow - 65_535
        context.writeAndFlush(
            wrapOutboundOut(HTTP2Frame(streamID: .rootStream, payload: .windowUpdate(windowSizeIncrement: increment))),
            promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        let id = frame.streamID
        deadlines.frameRead()
        switch frame.payload {
        case .headers(let headers):
            // A request opens a stream with a higher ID than any before
            // (RFC 9113, 5.1.1). A later HEADERS frame on a stream carries
            // trailers, also on one already answered (a 401): ignored, but
            // for ending the request.
            if id > lastOpened {
                lastOpened = id
                let head = RequestHead(headers.headers)
                guard let enforcer = authenticate(head, context) else {
                    StreamAnswers.unauthorized(id, context)
                    // Its body, if any follows, is dropped unread, and the
                    // stream's window is not reopened: the client stops after
                    // one window's worth.
                    return
                }
                streams.insert(ReceivedRequest(head: head, enforcer: enforcer, openedAt: deadlines.now), for: id)
            }
            if headers.endStream { finish(id, context) }
        case .data(let payload):
            let budget = budget
            let connectionRoom = limits.bodyBudgetPerConnection - held
            let change: Int? = streams.modify(id) { stream in
                guard case .byteBuffer(var chunk) = payload.data, !stream.tooLarge, !stream.overBudget else { return 0 }
                if (stream.body?.readableBytes ?? 0) + chunk.readableBytes > router.bodyLimit(stream.head.path) {
                    stream.tooLarge = true
                } else if chunk.readableBytes > connectionRoom || !budget.reserve(chunk.readableBytes) {
                    stream.overBudget = true
                } else {
                    stream.reserved += chunk.readableBytes
                    if stream.body == nil {
                        stream.body = chunk
                    } else {
                        stream.body?.writeBuffer(&chunk)
                    }
                    return chunk.readableBytes
                }
                let given = stream.reserved
                budget.release(given)
                stream.reserved = 0
                stream.body = nil
                return -given
            }
            guard let change else { return }
            held += change
            if payload.endStream { finish(id, context) }
        case .rstStream:
            forget(id)
        default:
            break
        }
    }

    /// The enforcer, or `nil` when the request carries no valid token.
    private func authenticate(_ head: RequestHead, _ context: ChannelHandlerContext) -> EnforcerAuthenticator.Enforcer? {
        if let certificateName, !certificateNameResolved {
            certificateNameResolved = true
            if let name = certificateName(context.channel) { connection = .trusted(name) }
        }
        switch connection {
        case .trusted(let name): return EnforcerAuthenticator.Enforcer(name: name, mayAssertIdentity: true)
        case .needsToken: return authenticator.enforcer(authorization: head.authorization, cache: cache)
        }
    }

    /// Drops what is known of a stream that was reset or closed.
    private func forget(_ id: HTTP2StreamID) {
        if let stream = streams.remove(id) { release(stream) }
        access.forget(id)
        watches.stop(id)
    }

    /// After a read that answered at least this many decisions, the event
    /// loop offers its CPU to whoever waits for it (`sched_yield`): the
    /// enforcers reading these answers, the audit writer. Under load the two
    /// loops never go idle, and the kernel let them keep a CPU to the next
    /// tick (4 ms here) while an enforcer with its answers, or the writer,
    /// waited: the decisions' p99 was that tick on top of the median
    /// (`perf sched timehist` under `bench/pdp-load`). With the yield, p99
    /// went from 5.3-5.9 ms to 4.3-4.8 ms at the same rate (alternating
    /// builds; one later run at a slow moment of the machine: 5.29). Below this many,
    /// the load is light and the loop has nothing to hand over.
    static let yieldAfter = 16

    func channelReadComplete(context: ChannelHandlerContext) {
        let answered = auditBurst.count
        submitAuditBurst()
        context.flush()
        checkAbuse(context)
        context.fireChannelReadComplete()
        // After the flush, so that the answers are on their way first.
        if answered >= Self.yieldAfter { sched_yield() }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case let closed as StreamClosedEvent:
            nioStreams -= 1
            if closed.reason != nil { resetsThisRead += 1 }
            forget(closed.streamID)
        case is NIOHTTP2StreamCreatedEvent:
            streamOpened(context)
        case let window as NIOHTTP2WindowUpdatedEvent:
            // Credit is given back from the windows NIO keeps, so that bytes
            // this handler never sees (padding, frames of reset streams)
            // cannot leak the window shut.
            guard let inbound = window.inboundWindowSize else { break }
            let target: Int
            if window.streamID == .rootStream {
                target = Self.connectionWindow
            } else if streams.contains(window.streamID) {
                target = Self.streamWindow
            } else {
                break
            }
            if inbound <= target / 2 {
                // Flushed with the answers at the end of the read burst.
                context.write(
                    wrapOutboundOut(
                        HTTP2Frame(streamID: window.streamID, payload: .windowUpdate(windowSizeIncrement: target - inbound))),
                    promise: nil)
            }
        default:
            break
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // HTTP/2 protocol errors have been dealt with by NIO already: a stream
        // error resets only that stream (closing here would take every other
        // stream down with it), a connection error sends GOAWAY. NIO reports
        // both the same way and leaves the socket open; when one of its
        // guards against abuse fired, the connection is closed here, so that
        // a client that ignores the GOAWAY does not keep its slot.
        if error is any NIOHTTP2Error, !NIOAbuseGuards.fired(error) { return }
        context.close(promise: nil)
    }

    private func release(_ stream: ReceivedRequest) {
        budget.release(stream.reserved)
        held -= stream.reserved
    }

    private func finish(_ id: HTTP2StreamID, _ context: ChannelHandlerContext) {
        guard let stream = streams.remove(id) else { return }
        release(stream)
        guard let decision = router.route(stream, id, context, connection: connection) else { return }
        // The batch is lent to the engine only while it decides: the answer
        // is written after, since a write may call back into this handler.
        let answer = DecisionEndpoint.decide(
            decision.body, enforcer: decision.enforcer, engine: engine, allocator: context.channel.allocator, audit: &auditBurst)
        switch answer {
        case .decided(let buffer): StreamAnswers.respond(id, context, .ok, body: buffer)
        case .refused(let status, let message): StreamAnswers.error(id, context, status, message)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        submitAuditBurst()
        watches.stopAll()
        releaseEverything()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        submitAuditBurst()
        watches.stopAll()
        releaseEverything()
    }

    private func submitAuditBurst() {
        guard !auditBurst.isEmpty else { return }
        engine.audit.submit(auditBurst)
        auditBurst.removeAll(keepingCapacity: true)
    }
}
