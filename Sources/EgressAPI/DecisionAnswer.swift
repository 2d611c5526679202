import NIOCore
import PolicyLang

/// The answer to `POST /v1/decisions`, defined once for the service that
/// writes it and the enforcers that read it:
///
///     {"verdict":"allow","rule":"stripe.egress:3","name":"payments",
///      "dryRunVerdict":"allow","dryRunRule":null,"revision":7,"ttl":30,
///      "source":{"namespace":"shop","labels":{}}}
///
/// The service writes it with `write(into:)`, straight into the response
/// buffer (no JSONEncoder, no intermediate string: this runs on every
/// decision); enforcers read it with `JSONDecoder`. `DecisionWireTests`
/// holds the two to the same fields.
public struct DecisionAnswer: Sendable, Equatable {
    public enum Verdict: String, Sendable, Codable {
        case allow, deny
    }

    public var verdict: Verdict
    /// The deciding rule as `file:line`, and its name; nil under default deny.
    public var rule: String?
    public var name: String?
    /// What the verdict would be with the dry-run rules enforced, and the rule
    /// that would decide it.
    public var dryRunVerdict: Verdict
    public var dryRunRule: String?
    /// The policy revision that decided; nil before any revision is active.
    public var revision: Int64?
    /// Seconds an enforcer may cache the answer.
    public var ttl: Int
    /// The identity the source was decided as; nil when it is unknown.
    public var source: EncodedIdentity?

    public init(
        verdict: Verdict, rule: String?, name: String?, dryRunVerdict: Verdict, dryRunRule: String?, revision: Int64?,
        ttl: Int, source: EncodedIdentity?
    ) {
        self.verdict = verdict
        self.rule = rule
        self.name = name
        self.dryRunVerdict = dryRunVerdict
        self.dryRunRule = dryRunRule
        self.revision = revision
        self.ttl = ttl
        self.source = source
    }

    /// Writes the answer as JSON into `out`, piece by piece.
    public func write(into out: inout ByteBuffer) {
        out.writeStaticString(verdict == .allow ? "{\"verdict\":\"allow\",\"rule\":" : "{\"verdict\":\"deny\",\"rule\":")
        Self.write(rule, into: &out)
        out.writeStaticString(",\"name\":")
        Self.write(name, into: &out)
        out.writeStaticString(
            dryRunVerdict == .allow ? ",\"dryRunVerdict\":\"allow\",\"dryRunRule\":" : ",\"dryRunVerdict\":\"deny\",\"dryRunRule\":")
        Self.write(dryRunRule, into: &out)
        out.writeStaticString(",\"revision\":")
        if let revision { out.writeString(String(revision)) } else { out.writeStaticString("null") }
        out.writeStaticString(",\"ttl\":")
        out.writeString(String(ttl))
        out.writeStaticString(",\"source\":")
        if let source { out.writeString(source.json) } else { out.writeStaticString("null") }
        out.writeStaticString("}")
    }

    private static func write(_ text: String?, into out: inout ByteBuffer) {
        if let text { JSONText.write(text, into: &out) } else { out.writeStaticString("null") }
    }
}

extension DecisionAnswer: Decodable {
    enum CodingKeys: String, CodingKey {
        case verdict, rule, name, dryRunVerdict, dryRunRule, revision, ttl, source
    }

    /// The `source` object's fields.
    struct Identity: Decodable {
        var namespace: String?
        var serviceAccount: String?
        var pod: String?
        var spiffe: String?
        var labels: [String: String]?
        var namespaceLabels: [String: String]?
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        verdict = try c.decode(Verdict.self, forKey: .verdict)
        rule = try c.decodeIfPresent(String.self, forKey: .rule)
        name = try c.decodeIfPresent(String.self, forKey: .name)
        dryRunVerdict = try c.decode(Verdict.self, forKey: .dryRunVerdict)
        dryRunRule = try c.decodeIfPresent(String.self, forKey: .dryRunRule)
        revision = try c.decodeIfPresent(Int64.self, forKey: .revision)
        ttl = max(0, try c.decode(Int.self, forKey: .ttl))
        // Read leniently: an enforcer decides on the verdict, never on this.
        source = (try? c.decodeIfPresent(Identity.self, forKey: .source)).map {
            EncodedIdentity(
                SourceIdentity(
                    namespace: $0.namespace, serviceAccount: $0.serviceAccount, pod: $0.pod, spiffe: $0.spiffe,
                    labels: $0.labels ?? [:], namespaceLabels: $0.namespaceLabels ?? [:]))
        }
    }
}

/// The error body every endpoint of the decision API answers with when it
/// does not decide: `{"error": "what was wrong"}`.
public struct DecisionAPIError: Codable, Sendable, Equatable {
    public var error: String

    public init(error: String) { self.error = error }

    public var json: String { "{\"error\":\(JSONText.string(error))}" }
}
