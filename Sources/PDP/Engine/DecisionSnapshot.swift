import EgressAPI
import Foundation
import PolicyLang

/// Everything a decision reads, immutable: the compiled policy of the active
/// revision and the inventory, indexed by address and SPIFFE ID. A change
/// builds a new snapshot and swaps it in, so a decision never sees half of one.
/// A class: a decision takes it with one reference, not a copy of every field.
public final class DecisionSnapshot: Sendable {
    /// A workload as decisions see it: its identity, encoded once.
    typealias Entry = EncodedIdentity

    public let revision: Int64?
    public let index: PolicyIndex
    public let inventoryGeneration: Int64
    let byIP: [String: Entry]
    let bySpiffe: [String: Entry]
    /// Per rule of `index`: its `file:line` and its name, for answers and
    /// audit records.
    let ruleText: RuleText

    static let empty = DecisionSnapshot(
        revision: nil, index: PolicyIndex.denyAll, inventoryGeneration: 0, byIP: [:], bySpiffe: [:])

    /// `ruleText`: the previous snapshot's, when its index is this one's
    /// (an inventory change does not format every rule again).
    init(
        revision: Int64?, index: PolicyIndex, inventoryGeneration: Int64, byIP: [String: Entry], bySpiffe: [String: Entry],
        ruleText: RuleText? = nil
    ) {
        self.revision = revision
        self.index = index
        self.inventoryGeneration = inventoryGeneration
        self.byIP = byIP
        self.bySpiffe = bySpiffe
        self.ruleText = ruleText ?? RuleText(index.rules)
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
