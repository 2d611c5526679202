import NIOCore
import PolicyLang

/// Small JSON writers for the decision path, where JSONEncoder would cost
/// more than the decision itself.
public enum JSONText {
    /// `text` as a JSON string, quotes included.
    public static func string(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case let s where s.value < 0x20: out += "\\u00" + (s.value < 0x10 ? "0" : "") + String(s.value, radix: 16)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// Writes `text` as a JSON string into `out`. Text that needs no escape
    /// (every host, address and rule location in practice) is copied as it
    /// is, without building a string first.
    public static func write(_ text: String, into out: inout ByteBuffer) {
        let plain = text.utf8.allSatisfy { $0 >= 0x20 && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }
        guard plain else {
            out.writeString(string(text))
            return
        }
        out.writeStaticString("\"")
        out.writeString(text)
        out.writeStaticString("\"")
    }

    /// An identity as the decision API's `source` object (`namespaceLabels`
    /// only when there are any).
    public static func identity(_ identity: SourceIdentity) -> String {
        var fields: [String] = []
        if let v = identity.namespace { fields.append("\"namespace\":" + string(v)) }
        if let v = identity.serviceAccount { fields.append("\"serviceAccount\":" + string(v)) }
        if let v = identity.pod { fields.append("\"pod\":" + string(v)) }
        if let v = identity.spiffe { fields.append("\"spiffe\":" + string(v)) }
        fields.append("\"labels\":" + labels(identity.labels))
        if !identity.namespaceLabels.isEmpty { fields.append("\"namespaceLabels\":" + labels(identity.namespaceLabels)) }
        return "{" + fields.joined(separator: ",") + "}"
    }

    /// A JSON object of labels, keys sorted, as JSONEncoder with
    /// `.sortedKeys` would write it (the audit table stores this text).
    public static func labels(_ labels: [String: String]) -> String {
        "{" + labels.sorted { $0.key < $1.key }.map { string($0.key) + ":" + string($0.value) }.joined(separator: ",") + "}"
    }
}
