import EgressAPI
import Foundation
import PolicyLang

/// Everything a decision reads, immutable: the compiled policy of the active
/// revision and the inventory, indexed by address and SPIFFE ID. A change
/// builds a new snapshot and swaps it in, so a decision never sees half of one.
/// A class: a decision takes it with one reference, not a copy of every field.
public final class DecisionSnapshot: Sendable {
    /// A workload as decisions see it: its identity, and that identity as a
    /// JSON object, encoded once here rather than on every answer. A class,
    /// so that a decision and its audit event share it by one reference.
    final class Entry: Sendable {
        let identity: SourceIdentity
        let json: String
        /// The labels alone, as the audit table stores them.
        let labelsJSON: String

        init(_ identity: SourceIdentity) {
            self.identity = identity
            json = JSONText.identity(identity)
            labelsJSON = JSONText.labels(identity.labels)
        }
    }

    public let revision: Int64?
    public let index: PolicyIndex
    public let inventoryGeneration: Int64
    let byIP: [String: Entry]
    let bySpiffe: [String: Entry]
    /// Per rule of `index`: its `file:line` and its name, as JSON values.
    let ruleLocations: [String]
    let ruleNames: [String]
    /// The same as plain text, for audit records.
    let ruleText: RuleText

    static let empty = DecisionSnapshot(
        revision: nil, index: PolicyIndex.denyAll, inventoryGeneration: 0, byIP: [:], bySpiffe: [:])

    /// The inventory's lookup tables.
    struct Tables {
        var byIP: [String: Entry] = [:]
        var bySpiffe: [String: Entry] = [:]

        init(_ workloads: [Workload]) {
            for workload in workloads {
                let entry = Entry(workload.identity)
                for ip in workload.ips { if let ip = IPAddressText.normalize(ip) { byIP[ip] = entry } }
                if let spiffe = workload.spiffe { bySpiffe[spiffe] = entry }
            }
        }
    }

    init(revision: Int64?, index: PolicyIndex, inventoryGeneration: Int64, byIP: [String: Entry], bySpiffe: [String: Entry]) {
        self.revision = revision
        self.index = index
        self.inventoryGeneration = inventoryGeneration
        self.byIP = byIP
        self.bySpiffe = bySpiffe
        ruleLocations = index.rules.map { JSONText.string($0.location) }
        ruleNames = index.rules.map { $0.name.map(JSONText.string) ?? "null" }
        ruleText = RuleText(index.rules)
    }
}

/// Each rule's `file:line` and name, made once per revision: an audit record
/// names its rule by index instead of formatting the location each time.
final class RuleText: Sendable {
    let locations: [String]
    let names: [String?]

    init(_ rules: [RuleReference]) {
        locations = rules.map(\.location)
        names = rules.map(\.name)
    }
}

extension PolicyIndex {
    /// No rules: every request is denied. Used until a revision is active.
    static let denyAll: PolicyIndex = (try? PolicyCompiler.compile([SourceFile]())) ?? { fatalError("empty set compiles") }()
}

/// Small JSON writers for the decision path, where JSONEncoder would cost more
/// than the decision.
enum JSONText {
    static func string(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case let s where s.value < 0x20: out += String(format: "\\u%04x", s.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    static func identity(_ identity: SourceIdentity) -> String {
        var fields: [String] = []
        if let v = identity.namespace { fields.append("\"namespace\":" + string(v)) }
        if let v = identity.serviceAccount { fields.append("\"serviceAccount\":" + string(v)) }
        if let v = identity.pod { fields.append("\"pod\":" + string(v)) }
        if let v = identity.spiffe { fields.append("\"spiffe\":" + string(v)) }
        fields.append("\"labels\":" + labels(identity.labels))
        return "{" + fields.joined(separator: ",") + "}"
    }

    /// A JSON object of labels, keys sorted, as JSONEncoder with
    /// `.sortedKeys` would write it (the audit table stores this text).
    static func labels(_ labels: [String: String]) -> String {
        "{" + labels.sorted { $0.key < $1.key }.map { string($0.key) + ":" + string($0.value) }.joined(separator: ",") + "}"
    }
}
