import DNSMessage
import EgressAPI
import EnforcerCore
import Logging
import NIOCore

/// Answers one workload query, over UDP or TCP alike: reads it, screens it
/// (`QueryScreen`), asks for the verdict on the name for the query's source
/// address, and either answers with a refusal of its own or forwards the
/// query and hands back the upstream's answer, without `ech` for HTTPS and
/// SVCB, and truncated when it does not fit the workload's UDP size. Every
/// query is counted by outcome and goes to the ledger.
struct QueryAnswerer: Sendable {
    struct Settings: Sendable {
        var refusal: DNSConfiguration.Refusal
        var stripECH: Bool
        var queryTimeout: TimeAmount
    }

    let screen: QueryScreen
    let settings: Settings
    let cache: VerdictCache
    let ledger: QueryLedger
    let metrics: DNSMetrics
    let logger: Logger

    /// Sends a query egress-dns wrote upstream and returns the answer.
    typealias Forward = @Sendable (ByteBuffer) -> EventLoopFuture<ByteBuffer>

    /// The answer to `bytes` from `sourceIP`, or nil to send none; `udp`
    /// when it must fit the workload's UDP size. Completes on `loop`: the
    /// verdict within the query timeout, each upstream within its own.
    func answer(_ bytes: ByteBuffer, from sourceIP: String, udp: Bool, on loop: EventLoop, forward: @escaping Forward)
        -> EventLoopFuture<ByteBuffer?>
    {
        let raw = Array(bytes.readableBytesView)
        let query: DNSMessage
        do {
            query = try DNSReader.message(raw)
        } catch {
            metrics.query(.malformed)
            return loop.makeSucceededFuture(DNSRefusal.formatError(for: raw).map { ByteBuffer(bytes: $0) })
        }
        let queryType = query.questions.first.map { RecordType.name($0.type) } ?? "-"
        switch screen.screen(query) {
        case .drop:
            metrics.query(.dropped)
            return loop.makeSucceededFuture(nil)
        case .answer(let rcode, let reason):
            metrics.query(.malformed)
            logger.debug("answered on its own", metadata: ["source": "\(sourceIP)", "reason": "\(reason)"])
            return loop.makeSucceededFuture(Self.bytes(DNSRefusal.answer(to: query, rcode: rcode, infoCode: DNSRefusal.other, text: reason)))
        case .refusedType(let type):
            metrics.query(.refusedType)
            let host = query.questions[0].name.description
            ledger.refused(sourceIP: sourceIP, host: host, queryType: type, reason: "query-type", verdict: nil, cached: nil)
            let text = "egress-dns refuses queries of type \(type)"
            return loop.makeSucceededFuture(
                Self.bytes(DNSRefusal.answer(to: query, rcode: ResponseCode.refused, infoCode: DNSRefusal.prohibited, text: text)))
        case .internalName:
            metrics.query(.internal)
            return forwarded(query, udp: udp, on: loop, forward: forward)
        case .decide(let host):
            let key = VerdictKey(sourceIP: sourceIP, host: host, port: DecisionRequest.anyPort)
            if let verdict = cache.cachedVerdict(for: key) {
                return decided(verdict, cached: true, query, host: host, queryType: queryType, sourceIP: sourceIP, udp: udp, on: loop, forward: forward)
            }
            // Bounded twice: the decision service's request timeout, and
            // this query's own, whichever comes first.
            let promise = loop.makePromise(of: Verdict.self)
            let deadline = loop.scheduleTask(in: settings.queryTimeout) {
                promise.fail(DNSFailure("no verdict within the query timeout"))
            }
            promise.futureResult.whenComplete { _ in deadline.cancel() }
            promise.completeWithTask { try await cache.verdict(for: key).0 }
            return promise.futureResult.flatMap { verdict in
                decided(verdict, cached: false, query, host: host, queryType: queryType, sourceIP: sourceIP, udp: udp, on: loop, forward: forward)
            }.flatMapError { error in
                metrics.query(.decisionFailed)
                logger.warning("no verdict: answered SERVFAIL", metadata: ["source": "\(sourceIP)", "name": "\(host)", "error": "\(error)"])
                ledger.refused(sourceIP: sourceIP, host: host, queryType: queryType, reason: "pdp-unavailable", verdict: nil, cached: nil)
                return loop.makeSucceededFuture(Self.bytes(DNSRefusal.answer(
                    to: query, rcode: ResponseCode.serverFailure, infoCode: DNSRefusal.networkError,
                    text: "egress-dns could not ask the decision service, so it refuses (fails closed)")))
            }
        }
    }

    private func decided(
        _ verdict: Verdict, cached: Bool, _ query: DNSMessage, host: String, queryType: String,
        sourceIP: String, udp: Bool, on loop: EventLoop, forward: @escaping Forward
    ) -> EventLoopFuture<ByteBuffer?> {
        guard verdict.allow else {
            metrics.query(.refusedPolicy)
            ledger.refused(sourceIP: sourceIP, host: host, queryType: queryType, reason: "policy", verdict: verdict, cached: cached)
            let rule = verdict.rule.map { rule in "rule \(rule)" + (verdict.name.map { " (\($0))" } ?? "") } ?? "no rule allows it"
            let rcode = settings.refusal == .nxdomain ? ResponseCode.nameError : ResponseCode.refused
            return loop.makeSucceededFuture(Self.bytes(DNSRefusal.answer(
                to: query, rcode: rcode, infoCode: DNSRefusal.blocked, text: "egress policy: this workload may not reach \(host): \(rule)")))
        }
        metrics.query(.allowed)
        ledger.allowed(sourceIP: sourceIP, host: host, queryType: queryType, verdict: verdict)
        return forwarded(query, udp: udp, on: loop, forward: forward)
    }

    /// Forwards the query as egress-dns read it, written again: its
    /// question (uncompressed) and its EDNS record, nothing else. The
    /// workload's own bytes never go upstream, so the upstream cannot read a
    /// name other than the one decided (a compression pointer the upstream
    /// follows differently, a record smuggled after the question).
    private func forwarded(_ query: DNSMessage, udp: Bool, on loop: EventLoop, forward: Forward)
        -> EventLoopFuture<ByteBuffer?>
    {
        let question = query.questions[0]
        var outgoing = DNSMessage(id: query.id, flags: query.flags & 0x7930)  // opcode, RD, AD, CD
        outgoing.questions = [question]
        if let opt = query.opt { outgoing.additionals = [opt] }
        return forward(Self.bytes(outgoing)).map { answer -> ByteBuffer? in
            finish(answer, query: query, udp: udp)
        }.recover { error in
            metrics.query(.upstreamFailed)
            logger.warning("no upstream answered: SERVFAIL", metadata: ["name": "\(question.name)", "error": "\(error)"])
            return Self.serverFailure(query, "no upstream answered")
        }
    }

    /// The upstream's answer as the workload gets it: its own id, `ech` taken
    /// out where there may be one, and within its UDP size.
    private func finish(_ answer: ByteBuffer, query: DNSMessage, udp: Bool) -> ByteBuffer {
        var answer = answer
        answer.setInteger(query.id, at: answer.readerIndex)
        let type = query.questions[0].type
        if settings.stripECH, type == RecordType.https || type == RecordType.svcb || type == RecordType.any {
            guard let message = try? DNSReader.message(Array(answer.readableBytesView)) else {
                // What cannot be read cannot be checked for ech: not passed on.
                metrics.query(.upstreamFailed)
                return Self.serverFailure(query, "the upstream's answer could not be passed on")
            }
            let (stripped, changed) = message.strippingECH()
            if changed {
                metrics.echStripped.increment()
                answer = Self.bytes(stripped)
            }
        }
        // A rewritten answer (names uncompressed) may outgrow what a message can be.
        if answer.readableBytes > 65_535 {
            metrics.query(.upstreamFailed)
            return Self.serverFailure(query, "the upstream's answer could not be passed on")
        }
        if udp, answer.readableBytes > query.udpPayloadLimit {
            metrics.truncated.increment()
            return Self.bytes(DNSMessage.truncated(answering: query, flags: answer.getInteger(at: answer.readerIndex + 2) ?? 0))
        }
        return answer
    }

    /// SERVFAIL when the upstream side failed, with EDE 23 (Network Error).
    static func serverFailure(_ query: DNSMessage, _ why: String) -> ByteBuffer {
        bytes(DNSRefusal.answer(to: query, rcode: ResponseCode.serverFailure, infoCode: DNSRefusal.networkError, text: why))
    }

    static func bytes(_ message: DNSMessage) -> ByteBuffer {
        ByteBuffer(bytes: DNSWriter.bytes(message))
    }
}

extension DNSMessage {
    /// The largest UDP answer the sender of this query takes: its EDNS
    /// payload size (RFC 6891), 512 without EDNS or below it.
    var udpPayloadLimit: Int { max(512, Int(opt?.klass ?? 512)) }

    /// An answer that did not fit: the upstream's flags with TC set, the
    /// question and nothing else, so that the workload asks again over TCP.
    static func truncated(answering query: DNSMessage, flags: UInt16) -> DNSMessage {
        var answer = DNSMessage(id: query.id, flags: flags | 0x8200)
        answer.questions = Array(query.questions.prefix(1))
        return answer
    }
}
