import Foundation
import PolicyLang

/// Writes decisions as JSON lines. Each rule's strings are encoded once, up
/// front, with JSONEncoder; a decision only concatenates fragments.
struct DecisionJSON: Sendable {
    /// Per rule: its quoted `file:line`, and its quoted name or `null`.
    private let locations: [String]
    private let names: [String]

    init(index: PolicyIndex) {
        locations = index.rules.map { Self.quote($0.location) }
        names = index.rules.map { $0.name.map(Self.quote) ?? "null" }
    }

    static func quote(_ text: String) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .withoutEscapingSlashes
        return String(decoding: (try? encoder.encode(text)) ?? Data("\"\"".utf8), as: UTF8.self)
    }

    func line(_ d: Decision) -> String {
        var out = "{\"verdict\":\"\(d.verdict.rawValue)\",\"rule\":"
        out += d.rule.map { locations[$0.index] } ?? "null"
        out += ",\"name\":"
        out += d.rule.map { names[$0.index] } ?? "null"
        out += ",\"dryRunVerdict\":\"\(d.dryRunVerdict.rawValue)\",\"dryRunRule\":"
        out += d.dryRunRule.map { locations[$0.index] } ?? "null"
        out += "}"
        return out
    }
}
