import DNSMessage

/// What egress-dns does with a query, decided from the query alone: answer
/// it with an error, forward it undecided (a name of the cluster's own), or
/// ask whether the workload may reach the name. No I/O: the whole of what a
/// workload's bytes can make egress-dns do starts here.
struct QueryScreen: Sendable {
    enum Outcome: Equatable, Sendable {
        /// Not a query egress-dns answers (a response, say): dropped unanswered.
        case drop
        /// Answered at once with this response code, and why.
        case answer(rcode: UInt16, reason: String)
        /// A name of the cluster's own zones: forwarded without a decision.
        case internalName
        /// A type the operator refuses whatever the name.
        case refusedType(String)
        /// Ask for a verdict on this host (the name in lower case, no trailing dot).
        case decide(host: String)
    }

    let internalZones: [DNSName]
    let refusedTypes: Set<UInt16>

    /// The search-path form of a cluster's zone that a pod's resolver may
    /// send as it is: `<service>.<namespace>.svc`, short of the zone.
    static let serviceSuffix = DNSName(labels: [Array("svc".utf8)])

    func screen(_ query: DNSMessage) -> Outcome {
        guard !query.isResponse else { return .drop }
        guard query.opcode == Opcode.query else { return .answer(rcode: ResponseCode.notImplemented, reason: "opcode") }
        guard query.questions.count == 1, query.answers.isEmpty, query.authorities.isEmpty else {
            return .answer(rcode: ResponseCode.formatError, reason: "not-one-question")
        }
        let question = query.questions[0]
        guard question.klass == RecordClass.internet else { return .answer(rcode: ResponseCode.refused, reason: "class") }
        if refusedTypes.contains(question.type) { return .refusedType(RecordType.name(question.type)) }
        if isInternal(question.name) { return .internalName }
        // `_service._proto.host` (SRV, or RFC 9460's `_port._https.host`)
        // asks about a service of the host: the host is decided.
        let labels = question.name.labels.drop { $0.first == UInt8(ascii: "_") }
        guard !labels.isEmpty else { return .answer(rcode: ResponseCode.refused, reason: "root") }
        let host = DNSName(labels: Array(labels)).description
        // Escaped bytes can make the text longer than the decision API takes;
        // such a name is no host name any rule could allow but `*`.
        guard host.utf8.count <= 253 else { return .answer(rcode: ResponseCode.refused, reason: "name-too-long") }
        return .decide(host: host)
    }

    func isInternal(_ name: DNSName) -> Bool {
        internalZones.contains { name.isWithin($0) } || (name.labels.count > 1 && name.isWithin(Self.serviceSuffix))
    }
}
