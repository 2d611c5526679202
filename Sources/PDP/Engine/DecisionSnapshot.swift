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

    /// The inventory's lookup tables.
    struct Tables {
        var byIP: [String: Entry] = [:]
        var bySpiffe: [String: Entry] = [:]

        /// Each workload's entry by `namespace/pod`, to be reused by the next
        /// tables: a workload whose identity did not change keeps its encoded
        /// identity. (Keyed by name and compared by identity: hashing whole
        /// workloads, labels and all, cost more than it saved.)
        var entries: [String: Entry] = [:]

        /// `previous`: the entries of the tables this one replaces.
        init(_ workloads: [Workload], reusing previous: [String: Entry] = [:]) {
            var shared: [String: SourceIdentity] = [:]
            entries.reserveCapacity(workloads.count)
            for workload in workloads {
                let name = workload.namespace + "/" + workload.pod
                let identity = workload.identity
                let entry = previous[name].flatMap { $0.identity == identity ? $0 : nil } ?? Entry(identity)
                entries[name] = entry
                for ip in workload.ips { if let ip = IPAddressText.normalize(ip) { byIP[ip] = entry } }
                guard let spiffe = workload.spiffe else { continue }
                if let held = bySpiffe[spiffe] {
                    // Pods of one service account share its SPIFFE ID: the ID
                    // alone says only what they have in common.
                    let before = shared[spiffe] ?? held.identity
                    shared[spiffe] = SourceIdentity(
                        namespace: before.namespace == workload.namespace ? before.namespace : nil,
                        serviceAccount: before.serviceAccount == workload.serviceAccount ? before.serviceAccount : nil,
                        spiffe: spiffe)
                } else {
                    bySpiffe[spiffe] = entry
                }
            }
            for (spiffe, identity) in shared { bySpiffe[spiffe] = Entry(identity) }
        }
    }

    init(revision: Int64?, index: PolicyIndex, inventoryGeneration: Int64, byIP: [String: Entry], bySpiffe: [String: Entry]) {
        self.revision = revision
        self.index = index
        self.inventoryGeneration = inventoryGeneration
        self.byIP = byIP
        self.bySpiffe = bySpiffe
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
