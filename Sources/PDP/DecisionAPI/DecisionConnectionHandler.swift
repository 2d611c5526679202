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

    /// What the handler needs of a request's headers.
    struct RequestHead {
        var method: String
        /// The `:path` without its query.
        var path: String
        var authorization: String?
        var contentType: String?
        /// What makes the block unusable as a request, if anything: NIO does
        /// not validate header blocks here (see DecisionServer).
        var malformed: String?

        /// One pass over the headers (HTTP/2 names are lower-case).
        init(_ headers: HPACKHeaders) {
            var method: String?, uri: String?, authorization: String?, contentType: String?, malformed: String?
            for (name, value, _) in headers {
                switch name {
                case ":method":
                    if method != nil { malformed = "two :method fields" }
                    method = value
                case ":path":
                    if uri != nil { malformed = "two :path fields" }
                    uri = value
                case "authorization": authorization = authorization ?? value
                case "content-type": contentType = contentType ?? value
                default: break
                }
            }
            if method == nil || uri == nil { malformed = "a request needs :method and :path" }
            self.malformed = malformed
            self.method = method ?? ""
            var path = uri ?? ""
            if let query = path.firstIndex(of: "?") { path = String(path[..<query]) }
            self.path = path
            self.authorization = authorization
            self.contentType = contentType
        }
    }

    /// Why the service closed a connection (a metric's label).
    enum CloseReason: String, CaseIterable {
        case prefaceTimeout = "preface-timeout"
        case idleTimeout = "idle-timeout"
        /// Its source reset more streams than `maxResetsPerSource` allows.
        case resetLimit = "reset-limit"
        /// It left more answers unread than `maxBufferedAnswers`.
        case bufferedAnswers = "buffered-answers"
    }

    static let maxDecisionBody = 64 * 1024
    static let maxAccessBody = 8 * 1024 * 1024

    private let engine: DecisionEngine
    private let authenticator: EnforcerAuthenticator
    private var connection: EnforcerAuthenticator.Connection
    private let cache: EnforcerAuthenticator.ConnectionCache
    private let inFlight: InFlightCounter
    /// A request being received.
    private struct Stream {
        var head: RequestHead
        var enforcer: EnforcerAuthenticator.Enforcer
        var body: ByteBuffer?
        var tooLarge = false
        /// The shared body budget was exhausted: the answer will be 503.
        var overBudget = false
        /// Bytes of `body` counted against the shared budget.
        var reserved = 0
        /// The tick its headers came at (`ConnectionDeadlines`).
        var openedAt: Int
    }

    private var streams = OpenStreams<Stream>()
    /// The highest stream ID a request has opened on this connection.
    private var lastOpened = HTTP2StreamID.rootStream
    /// This read's decisions for the audit trail, their room reserved;
    /// submitted to the writer in one go at the end of the read (just after
    /// NIOHTTP2Handler flushed their answers; the backlog bound was taken
    /// before each was answered).
    private var auditBurst: [PendingAudit] = []
    /// An open watch stream.
    private struct Watch {
        let subscription: UUID
        /// The bearer token it was opened with; nil on a connection trusted as
        /// a whole (the Unix socket, a client certificate).
        let authorization: String?
        /// Ends the stream when its token expires.
        var expiry: Scheduled<Void>?
    }

    /// Open watch streams.
    private var watches: [HTTP2StreamID: Watch] = [:]
    /// Access reports waiting for the audit writer: answered only if still open.
    private var pendingAccess: Set<HTTP2StreamID> = []
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
        let busy = !streams.isEmpty || !watches.isEmpty || !pendingAccess.isEmpty
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
            respond(id, context, .requestTimeout, error: "the request's body did not arrive within \(limits.requestTimeout.nanoseconds / 1_000_000) ms")
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
    private var unreadAnswers: Int { nioStreams - streams.count - watches.count - pendingAccess.count }

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
        pendingAccess.removeAll()
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
                    unauthorized(id, context)
                    // Its body, if any follows, is dropped unread, and the
                    // stream's window is not reopened: the client stops after
                    // one window's worth.
                    return
                }
                streams.insert(Stream(head: head, enforcer: enforcer, openedAt: deadlines.now), for: id)
            }
            if headers.endStream { finish(id, context) }
        case .data(let payload):
            let budget = budget
            let connectionRoom = limits.bodyBudgetPerConnection - held
            let change: Int? = streams.modify(id) { stream in
                guard case .byteBuffer(var chunk) = payload.data, !stream.tooLarge, !stream.overBudget else { return 0 }
                if (stream.body?.readableBytes ?? 0) + chunk.readableBytes > bodyLimit(stream.head.path) {
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
        if !pendingAccess.isEmpty { pendingAccess.remove(id) }
        stopWatching(id)
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
        if error is any NIOHTTP2Error, !Self.isAbuseGuard(error) { return }
        context.close(promise: nil)
    }

    /// The largest body a request to `path` may have: its endpoint's cap, or
    /// a connection's share of the budget if that is smaller (a body that
    /// can never fit is 413, not a 503 to be tried again forever).
    private func bodyLimit(_ path: String) -> Int {
        min(path == "/v1/access" ? Self.maxAccessBody : Self.maxDecisionBody, limits.bodyBudgetPerConnection)
    }

    private func release(_ stream: Stream) {
        budget.release(stream.reserved)
        held -= stream.reserved
    }

    /// NIO's guards against a misbehaving peer: each ends the connection.
    static func isAbuseGuard(_ error: Error) -> Bool {
        switch error {
        case is NIOHTTP2Errors.ExcessiveRSTFrames, is NIOHTTP2Errors.ExcessiveStreamErrors,
            is NIOHTTP2Errors.ExcessiveNumberOfGlitches, is NIOHTTP2Errors.ExcessiveControlFrames,
            is NIOHTTP2Errors.ExcessiveEmptyDataFrames, is NIOHTTP2Errors.ExcessiveContinuationFrames,
            is NIOHTTP2Errors.ExcessiveOutboundFrameBuffering, is NIOHTTP2Errors.BadClientMagic:
            return true
        default:
            return false
        }
    }

    private func finish(_ id: HTTP2StreamID, _ context: ChannelHandlerContext) {
        guard let stream = streams.remove(id) else { return }
        release(stream)
        handle(stream, id, context: context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        submitAuditBurst()
        for id in Array(watches.keys) { stopWatching(id) }
        releaseEverything()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        submitAuditBurst()
        for id in Array(watches.keys) { stopWatching(id) }
        releaseEverything()
    }

    private func submitAuditBurst() {
        guard !auditBurst.isEmpty else { return }
        engine.audit.submit(auditBurst)
        auditBurst.removeAll(keepingCapacity: true)
    }

    private func stopWatching(_ id: HTTP2StreamID) {
        guard !watches.isEmpty, let watch = watches.removeValue(forKey: id) else { return }
        engine.watchers.unsubscribe(watch.subscription)
        watch.expiry?.cancel()
    }

    // MARK: Routing

    private func handle(_ stream: Stream, _ id: HTTP2StreamID, context: ChannelHandlerContext) {
        let head = stream.head
        let enforcer = stream.enforcer
        if let malformed = head.malformed {
            return respond(id, context, .badRequest, error: "malformed request: \(malformed)")
        }
        if stream.overBudget {
            metrics.bodyBudgetRefusals.increment()
            return respond(id, context, .serviceUnavailable, error: "too many request bodies are held at once; try again")
        }
        switch head.path {
        case "/v1/decisions":
            guard head.method == "POST" else { return methodNotAllowed(id, context, allow: "POST") }
            guard let body = checkedBody(stream, id, context) else { return }
            decide(body, enforcer: enforcer, id, context)
        case "/v1/access":
            guard head.method == "POST" else { return methodNotAllowed(id, context, allow: "POST") }
            guard let body = checkedBody(stream, id, context) else { return }
            access(Data(body.readableBytesView), enforcer: enforcer.name, id, context)
        case "/v1/watch":
            guard head.method == "GET" else { return methodNotAllowed(id, context, allow: "GET") }
            // Tokens are checked for every request; a watch is one request
            // that lasts, so its token is checked again while it lasts, from
            // its start (the token may have gone since its headers came).
            if case .needsToken = connection {
                guard let authorization = head.authorization, let token = authenticator.enforcerRecord(authorization: authorization) else {
                    return unauthorized(id, context)
                }
                startWatching(id, context, token: (authorization, token.expiresAt))
            } else {
                startWatching(id, context, token: nil)
            }
        default:
            if let version = head.path.split(separator: "/").first, version != "v1", version.hasPrefix("v") {
                return respond(id, context, .notFound, error: "unknown API version '\(version)'; this service speaks v1")
            }
            respond(
                id, context, .notFound,
                error: "no such endpoint: \(head.path); the decision API has POST /v1/decisions, GET /v1/watch and POST /v1/access")
        }
    }

    /// The body, or `nil` after answering why it cannot be used.
    private func checkedBody(_ stream: Stream, _ id: HTTP2StreamID, _ context: ChannelHandlerContext) -> ByteBuffer? {
        if stream.tooLarge {
            respond(id, context, .payloadTooLarge, error: "the body is larger than \(bodyLimit(stream.head.path)) bytes")
            return nil
        }
        if let type = stream.head.contentType, !type.lowercased().hasPrefix("application/json") {
            respond(id, context, .unsupportedMediaType, error: "the body must be application/json, not \(type)")
            return nil
        }
        guard let body = stream.body, body.readableBytes > 0 else {
            respond(id, context, .badRequest, error: "the body is empty; expected a JSON object")
            return nil
        }
        return body
    }

    private func decide(_ body: ByteBuffer, enforcer: EnforcerAuthenticator.Enforcer, _ id: HTTP2StreamID, _ context: ChannelHandlerContext) {
        let request: DecisionRequest
        do {
            request = try DecisionRequest.parse(body)
        } catch {
            return respond(id, context, .badRequest, error: error.message)
        }
        switch request.source {
        case .spiffe, .asserted:
            // An identity is taken on trust: only from enforcers trusted to
            // know one. Anyone else names the source by its address, which
            // the service looks up itself.
            guard enforcer.mayAssertIdentity else {
                return respond(
                    id, context, .forbidden,
                    error: "this enforcer's token (role pep) may name a source only by 'source.ip'; asserting an identity "
                        + "('source.spiffe', 'source.namespace', ...) needs a token of role pep-identity, the Unix socket "
                        + "or a client certificate")
            }
        case .ip, .unknown:
            break
        }
        do {
            var answer = context.channel.allocator.buffer(capacity: 320)
            try engine.decide(request, enforcer: enforcer.name, into: &answer, audit: &auditBurst)
            respond(id, context, .ok, body: answer)
        } catch {
            respond(id, context, .serviceUnavailable, error: "\(error); try again")
        }
    }

    private func access(_ body: Data, enforcer: String, _ id: HTTP2StreamID, _ context: ChannelHandlerContext) {
        let report: AccessReport
        do {
            report = try JSONDecoder().decode(AccessReport.self, from: body)
        } catch {
            return respond(id, context, .badRequest, error: "malformed access report: \(Self.describe(error))")
        }
        if let problem = report.problem() { return respond(id, context, .badRequest, error: problem) }
        let records = engine.accessRecords(report, enforcer: enforcer)
        // The count of dropped records is echoed: an enforcer keeps telling
        // it until a service confirms it was recorded.
        let accepted = report.connections.count
        let droppedEcho = report.dropped.map { ",\"dropped\":\($0.allowed + $0.refused)" } ?? ""
        // Acknowledged only once written: an enforcer may drop what it sent
        // as soon as it has the 202.
        inFlight.enter()
        pendingAccess.insert(id)
        let loop = context.eventLoop
        let bound = NIOLoopBound((self, context), eventLoop: loop)
        engine.audit.append(records) { error in
            loop.execute {
                let (handler, context) = bound.value
                defer { handler.inFlight.leave() }
                // The enforcer may have given up (reset the stream) meanwhile:
                // writing to a closed stream would be a connection error.
                guard handler.pendingAccess.remove(id) != nil else { return }
                if let error {
                    handler.respond(id, context, .serviceUnavailable, error: "the audit trail cannot be written: \(error)")
                } else {
                    handler.respond(id, context, .accepted, json: "{\"accepted\":\(accepted)\(droppedEcho)}")
                }
                context.flush()
            }
        }
    }

    /// `token`: the `authorization` the stream came with and when its token
    /// expires; nil on a connection trusted as a whole.
    private func startWatching(_ id: HTTP2StreamID, _ context: ChannelHandlerContext, token: (authorization: String, expiresAt: Int64?)?) {
        let headers: HPACKHeaders = [":status": "200", "content-type": "application/x-ndjson", "cache-control": "no-store"]
        context.write(wrapOutboundOut(HTTP2Frame(streamID: id, payload: .headers(.init(headers: headers)))), promise: nil)
        let loop = context.eventLoop
        let bound = NIOLoopBound((self, context), eventLoop: loop)
        stopWatching(id)
        // Subscribed before the current state is read: a change in between
        // is then sent twice rather than missed.
        let subscription = engine.watchers.subscribe { signal in
            loop.execute {
                let (handler, context) = bound.value
                guard let watch = handler.watches[id] else { return }
                // Revoked or expired: nothing more is sent on it.
                if let authorization = watch.authorization, handler.authenticator.enforcerRecord(authorization: authorization) == nil {
                    return handler.endWatch(id, context)
                }
                if case .event(let event) = signal {
                    handler.write(event.jsonLine, id, context)
                    context.flush()
                }
            }
        }
        var watch = Watch(subscription: subscription, authorization: token?.authorization)
        if let expiresAt = token?.expiresAt {
            watch.expiry = loop.scheduleTask(in: .milliseconds(max(0, expiresAt - nowMilliseconds()) + 1)) {
                let (handler, context) = bound.value
                if handler.watches[id] != nil { handler.endWatch(id, context) }
            }
        }
        watches[id] = watch
        write(engine.watchState.jsonLine, id, context)
    }

    /// Ends a watch stream whose token is no longer live. The enforcer sees
    /// the stream end, watches again, and is told 401 unless it has a new token.
    private func endWatch(_ id: HTTP2StreamID, _ context: ChannelHandlerContext) {
        stopWatching(id)
        let end = HTTP2Frame.FramePayload.data(.init(data: .byteBuffer(context.channel.allocator.buffer(capacity: 0)), endStream: true))
        context.writeAndFlush(wrapOutboundOut(HTTP2Frame(streamID: id, payload: end)), promise: nil)
    }

    private func write(_ line: String, _ id: HTTP2StreamID, _ context: ChannelHandlerContext) {
        let buffer = context.channel.allocator.buffer(string: line)
        context.write(wrapOutboundOut(HTTP2Frame(streamID: id, payload: .data(.init(data: .byteBuffer(buffer))))), promise: nil)
    }

    // MARK: Answers

    private func unauthorized(_ id: HTTP2StreamID, _ context: ChannelHandlerContext) {
        respond(
            id, context, .unauthorized, json: Self.errorJSON("a live bearer token of role 'pep' or 'pep-identity' is required"),
            extra: [("www-authenticate", "Bearer")])
    }

    private func methodNotAllowed(_ id: HTTP2StreamID, _ context: ChannelHandlerContext, allow: String) {
        respond(id, context, .methodNotAllowed, json: Self.errorJSON("use \(allow) here"), extra: [("allow", allow)])
    }

    private func respond(_ id: HTTP2StreamID, _ context: ChannelHandlerContext, _ status: HTTPResponseStatus, error: String) {
        respond(id, context, status, json: Self.errorJSON(error))
    }

    /// Writes a whole answer; the flush comes once per read burst
    /// (`channelReadComplete`), so that many answers share one write.
    private func respond(
        _ id: HTTP2StreamID, _ context: ChannelHandlerContext, _ status: HTTPResponseStatus, json: String,
        extra: [(String, String)] = []
    ) {
        respond(id, context, status, body: context.channel.allocator.buffer(string: json), extra: extra)
    }

    private func respond(
        _ id: HTTP2StreamID, _ context: ChannelHandlerContext, _ status: HTTPResponseStatus, body buffer: ByteBuffer,
        extra: [(String, String)] = []
    ) {
        // A decision has no content-length: HTTP/2 ends the body with
        // END_STREAM, and the header would cost an encoding and a check on
        // every answer. Refusals keep it: with it, a client still uploading
        // a body (curl) sees the answer is whole and stops.
        var headers = Self.okHeaders
        if status != .ok {
            headers = [":status": String(status.code), "content-type": "application/json"]
            headers.add(name: "content-length", value: String(buffer.readableBytes))
        }
        for (name, value) in extra { headers.add(name: name, value: value) }
        context.write(wrapOutboundOut(HTTP2Frame(streamID: id, payload: .headers(.init(headers: headers)))), promise: nil)
        context.write(
            wrapOutboundOut(HTTP2Frame(streamID: id, payload: .data(.init(data: .byteBuffer(buffer), endStream: true)))),
            promise: nil)
    }

    private static let okHeaders: HPACKHeaders = [":status": "200", "content-type": "application/json"]

    static func errorJSON(_ message: String) -> String { "{\"error\":\(JSONText.string(message))}" }

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

/// Requests accepted but not yet answered, for a graceful drain.
final class InFlightCounter: Sendable {
    private let count = NIOLockedValueBox(0)
    func enter() { count.withLockedValue { $0 += 1 } }
    func leave() { count.withLockedValue { $0 -= 1 } }
    var value: Int { count.withLockedValue { $0 } }
}
