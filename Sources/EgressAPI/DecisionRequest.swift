import Foundation
import NIOCore
import PolicyLang

/// The body of `POST /v1/decisions`: who asks to reach which host and port.
/// The service reads it with `parse`; an enforcer writes it with `write`.
public struct DecisionRequest: Sendable, Equatable {
    public enum Source: Sendable, Equatable {
        /// No source given, or an empty one: no known identity.
        case unknown
        /// The connection's peer address, looked up in the inventory.
        case ip(String)
        /// A SPIFFE ID the enforcer verified (mTLS); looked up in the inventory.
        case spiffe(String)
        /// A whole identity, asserted by the (authenticated) enforcer.
        case asserted(SourceIdentity)
    }

    public var source: Source
    public var host: String
    /// 1-65535, or `anyPort`.
    public var port: Int

    /// The port of a question about a name alone: may the source reach the
    /// host on some port? (`"port": "any"`; a DNS enforcer asks it, as a
    /// name that resolves may then be used on any port.)
    public static let anyPort = PolicyIndex.anyPort

    public init(source: Source, host: String, port: Int) {
        self.source = source
        self.host = host
        self.port = port
    }

    /// A request body that cannot be decided; the message says what was wrong.
    public struct Invalid: Error {
        public let message: String
    }

    /// The plain shape is read straight from the bytes (see
    /// `DecisionBodyScanner`); anything else goes through the general parser.
    public static func parse(_ body: ByteBuffer) throws(Invalid) -> DecisionRequest {
        if let request = DecisionBodyScanner.scan(body) { return request }
        return try parse(Data(body.readableBytesView))
    }

    public static func parse(_ data: Data) throws(Invalid) -> DecisionRequest {
        let value: Any
        do {
            value = try JSONSerialization.jsonObject(with: data, options: [])
        } catch {
            throw Invalid(message: "the body is not valid JSON")
        }
        guard let object = value as? [String: Any] else { throw Invalid(message: "the body must be a JSON object") }
        guard let hostValue = object["host"] else { throw Invalid(message: "missing field 'host'") }
        guard let host = hostValue as? String, !host.isEmpty else { throw Invalid(message: "'host' must be a non-empty string") }
        guard host.utf8.count <= 255 else { throw Invalid(message: "'host' is longer than a DNS name can be") }
        if let problem = PrintableText.problem(host, field: "host") { throw Invalid(message: problem) }
        let port: Int
        do {
            port = try JSONPort.read(object["port"])
        } catch {
            throw Invalid(message: error.message)
        }
        let source: Source
        switch object["source"] {
        case let fields as [String: Any]: source = try parseSource(fields)
        case nil, is NSNull: source = .unknown
        default: throw Invalid(message: "'source' must be an object")
        }
        for key in object.keys where !["host", "port", "source"].contains(key) {
            throw Invalid(message: "unknown field '\(key)'")
        }
        return DecisionRequest(source: source, host: host, port: port)
    }

    private static let identityKeys: Set<String> = ["namespace", "serviceAccount", "pod", "labels", "namespaceLabels"]

    private static func parseSource(_ fields: [String: Any]) throws(Invalid) -> Source {
        for key in fields.keys where !identityKeys.contains(key) && key != "ip" && key != "spiffe" {
            throw Invalid(
                message: "unknown field 'source.\(key)'; expected ip, spiffe, namespace, serviceAccount, pod, labels or namespaceLabels")
        }
        func string(_ key: String) throws(Invalid) -> String? {
            guard let value = fields[key], !(value is NSNull) else { return nil }
            guard let text = value as? String else { throw Invalid(message: "'source.\(key)' must be a string") }
            if let problem = PrintableText.problem(text, field: "source.\(key)") { throw Invalid(message: problem) }
            return text
        }
        let asserted = fields.keys.contains { identityKeys.contains($0) }
        if let ip = try string("ip") {
            guard !asserted, fields["spiffe"] == nil else {
                throw Invalid(message: "'source.ip' stands alone: the identity comes from the inventory")
            }
            guard let normal = IPAddressText.normalize(ip) else {
                throw Invalid(message: "'source.ip' '\(ip)' is not an IPv4 or IPv6 address")
            }
            return .ip(normal)
        }
        let spiffe = try string("spiffe")
        if !asserted {
            return spiffe.map { .spiffe($0) } ?? .unknown
        }
        let identity = SourceIdentity(
            namespace: try string("namespace"), serviceAccount: try string("serviceAccount"), pod: try string("pod"),
            spiffe: spiffe, labels: try labels("labels", in: fields), namespaceLabels: try labels("namespaceLabels", in: fields))
        return identity.isEmpty ? .unknown : .asserted(identity)
    }

    /// `source.labels` or `source.namespaceLabels`: an object of printable
    /// strings. (`egressctl eval --batch` reads its lines' sources with it too.)
    public static func labels(_ field: String, in fields: [String: Any]) throws(Invalid) -> [String: String] {
        switch fields[field] {
        case let object as [String: Any]:
            var labels: [String: String] = [:]
            for (key, value) in object {
                guard let value = value as? String else { throw Invalid(message: "'source.\(field).\(key)' must be a string") }
                if let problem = PrintableText.problem(key, field: "source.\(field)")
                    ?? PrintableText.problem(value, field: "source.\(field).\(key)")
                {
                    throw Invalid(message: problem)
                }
                labels[key] = value
            }
            return labels
        case nil, is NSNull: return [:]
        default: throw Invalid(message: "'source.\(field)' must be an object of strings")
        }
    }
}

extension DecisionRequest {
    /// The body as JSON, in the plain shape `DecisionBodyScanner` reads
    /// without the general parser when the source is an address.
    public func write(into out: inout ByteBuffer) {
        out.writeStaticString("{\"source\":")
        switch source {
        case .unknown:
            out.writeStaticString("null")
        case .ip(let ip):
            out.writeStaticString("{\"ip\":")
            JSONText.write(ip, into: &out)
            out.writeStaticString("}")
        case .spiffe(let id):
            out.writeStaticString("{\"spiffe\":")
            JSONText.write(id, into: &out)
            out.writeStaticString("}")
        case .asserted(let identity):
            out.writeString(JSONText.identity(identity))
        }
        out.writeStaticString(",\"host\":")
        JSONText.write(host, into: &out)
        if port == Self.anyPort {
            out.writeStaticString(",\"port\":\"any\"")
        } else {
            out.writeStaticString(",\"port\":")
            out.writeString(String(port))
        }
        out.writeStaticString("}")
    }
}
