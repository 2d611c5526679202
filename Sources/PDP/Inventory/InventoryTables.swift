import EgressAPI
import PolicyLang

/// What one partition's source changed: workloads added or replaced (by
/// namespace and pod), and the names (`namespace/pod`) of those gone.
struct InventoryChange: Sendable, Equatable {
    var upserts: [Workload] = []
    var removals: [String] = []

    var isEmpty: Bool { upserts.isEmpty && removals.isEmpty }
}

/// The merged inventory as decisions read it: every partition's workloads,
/// merged by the rules of `InventoryMerge`, indexed by address and SPIFFE ID,
/// and kept up to date change by change.
///
/// A change costs in proportion to what it touches, not to the size of the
/// inventory: with 10,000 pods and thousands of events a second, rebuilding
/// every table for each burst took a quarter of the decision rate (see
/// docs/benchmarks.md). Each claim (of an address, a SPIFFE ID, a name) is
/// kept with its claimants, so that a change re-decides only the values it
/// touched and the workloads that claim them.
struct InventoryTables: Sendable {
    typealias Entry = EncodedIdentity
    typealias Conflict = InventoryMerge.Conflict

    /// A workload as one partition holds it.
    struct Claimant: Hashable, Sendable, CustomStringConvertible {
        let partition: InventoryPartition
        /// `namespace/pod`.
        let name: String
        var description: String { "\(partition.rawValue):\(name)" }
    }

    private(set) var byIP: [String: Entry] = [:]
    private(set) var bySpiffe: [String: Entry] = [:]
    /// The clashes that last, by what is claimed twice.
    private(set) var conflicts: [ClaimKey: Conflict] = [:]

    /// Each workload as its partition gave it, its addresses in canonical form.
    private var workloads: [Claimant: Workload] = [:]
    /// Each workload's identity as decisions see it, encoded once.
    private var entries: [Claimant: Entry] = [:]
    private var addressClaims: [String: Set<Claimant>] = [:]
    /// SPIFFE IDs claimed in partitions where each belongs to one workload.
    private var exclusiveSpiffeClaims: [String: Set<Claimant>] = [:]
    /// Every holder of each SPIFFE ID, shared or not.
    private var spiffeHolders: [String: Set<Claimant>] = [:]
    private var nameClaims: [String: Set<Claimant>] = [:]

    struct ClaimKey: Hashable, Sendable {
        let kind: Conflict.Kind
        let value: String
    }

    /// What a change touched, to be decided again.
    private struct Touched {
        var addresses = Set<String>()
        var spiffes = Set<String>()
        var names = Set<String>()
        var claimants = Set<Claimant>()
        /// Whether each touched SPIFFE ID clashed before the change.
        var withheldBefore: [String: Bool] = [:]
    }

    /// Grows with every change that changed a workload: a change that
    /// restates what is known (a pod's status update, a relist) leaves it.
    private(set) var version = 0

    /// The names `partition` holds.
    func names(in partition: InventoryPartition) -> [String] {
        workloads.keys.filter { $0.partition == partition }.map(\.name)
    }

    /// Replaces the whole of `partition`. Returns the clashes that appeared.
    mutating func replace(_ partition: InventoryPartition, with list: [Workload]) -> [Conflict] {
        let kept = Set(list.map { Self.name(of: $0) })
        let gone = names(in: partition).filter { !kept.contains($0) }
        return apply(InventoryChange(upserts: list, removals: gone), to: partition)
    }

    /// Applies one partition's change. Returns the clashes that appeared.
    mutating func apply(_ change: InventoryChange, to partition: InventoryPartition) -> [Conflict] {
        var touched = Touched()
        for name in change.removals { unclaim(Claimant(partition: partition, name: name), &touched) }
        for workload in change.upserts {
            let claimant = Claimant(partition: partition, name: Self.name(of: workload))
            let canonical = Self.canonical(workload)
            if workloads[claimant] == canonical { continue }
            unclaim(claimant, &touched)
            claim(claimant, canonical, &touched)
        }
        guard !touched.claimants.isEmpty else { return [] }
        version += 1
        // A SPIFFE ID that starts or stops clashing changes the identity of
        // every workload that holds it; one that does neither changes none
        // (pods of one service account all hold its ID: a rollout must not
        // decide every one of them again for each pod).
        for spiffe in touched.spiffes where isWithheld(spiffe) != touched.withheldBefore[spiffe] {
            touched.claimants.formUnion(spiffeHolders[spiffe] ?? [])
        }
        for claimant in touched.claimants { encode(claimant, &touched) }
        var appeared: [Conflict] = []
        for address in touched.addresses {
            let claims = addressClaims[address] ?? []
            if claims.count == 1, let entry = entries[claims.first!] {
                byIP[address] = entry
            } else {
                byIP.removeValue(forKey: address)
            }
            settle(ClaimKey(kind: .address, value: address), claims, &appeared)
        }
        for spiffe in touched.spiffes {
            decideSpiffe(spiffe)
            settle(ClaimKey(kind: .spiffe, value: spiffe), exclusiveSpiffeClaims[spiffe] ?? [], &appeared)
        }
        for name in touched.names { settle(ClaimKey(kind: .name, value: name), nameClaims[name] ?? [], &appeared) }
        return appeared.sorted { ($0.kind.rawValue, $0.value) < ($1.kind.rawValue, $1.value) }
    }

    static func name(of workload: Workload) -> String { workload.namespace + "/" + workload.pod }

    /// The workload with its addresses in canonical form, each once; an
    /// address that does not parse (refused before it gets here) is dropped.
    private static func canonical(_ workload: Workload) -> Workload {
        var workload = workload
        var seen = Set<String>()
        workload.ips = workload.ips.compactMap { IPAddressText.normalize($0) }.filter { seen.insert($0).inserted }
        return workload
    }

    private mutating func unclaim(_ claimant: Claimant, _ touched: inout Touched) {
        guard let old = workloads.removeValue(forKey: claimant) else { return }
        touched.claimants.insert(claimant)
        for address in old.ips {
            Self.remove(claimant, from: &addressClaims, at: address)
            touched.addresses.insert(address)
        }
        if let spiffe = old.spiffe {
            noteWithheld(spiffe, &touched)
            Self.remove(claimant, from: &spiffeHolders, at: spiffe)
            Self.remove(claimant, from: &exclusiveSpiffeClaims, at: spiffe)
            touched.spiffes.insert(spiffe)
        }
        Self.remove(claimant, from: &nameClaims, at: claimant.name)
        touched.names.insert(claimant.name)
    }

    private mutating func claim(_ claimant: Claimant, _ workload: Workload, _ touched: inout Touched) {
        workloads[claimant] = workload
        touched.claimants.insert(claimant)
        for address in workload.ips {
            addressClaims[address, default: []].insert(claimant)
            touched.addresses.insert(address)
        }
        if let spiffe = workload.spiffe {
            noteWithheld(spiffe, &touched)
            spiffeHolders[spiffe, default: []].insert(claimant)
            if claimant.partition.spiffeIsExclusive { exclusiveSpiffeClaims[spiffe, default: []].insert(claimant) }
            touched.spiffes.insert(spiffe)
        }
        nameClaims[claimant.name, default: []].insert(claimant)
        touched.names.insert(claimant.name)
    }

    private static func remove(_ claimant: Claimant, from claims: inout [String: Set<Claimant>], at value: String) {
        guard var set = claims[value] else { return }
        set.remove(claimant)
        claims[value] = set.isEmpty ? nil : set
    }

    /// A clashing SPIFFE ID identifies none of its holders.
    private func isWithheld(_ spiffe: String) -> Bool { (exclusiveSpiffeClaims[spiffe]?.count ?? 0) > 1 }

    /// Remembers whether `spiffe` clashed before this change first touched it.
    private func noteWithheld(_ spiffe: String, _ touched: inout Touched) {
        if touched.withheldBefore[spiffe] == nil { touched.withheldBefore[spiffe] = isWithheld(spiffe) }
    }

    /// Encodes a workload's identity again, unless it is what it was; its
    /// addresses are then decided again, as they point at its entry. (A
    /// workload whose own addresses changed has them touched already.)
    private mutating func encode(_ claimant: Claimant, _ touched: inout Touched) {
        guard let workload = workloads[claimant] else {
            entries.removeValue(forKey: claimant)
            return
        }
        var identity = workload.identity
        if let spiffe = workload.spiffe, isWithheld(spiffe) { identity.spiffe = nil }
        guard entries[claimant]?.identity != identity else { return }
        entries[claimant] = Entry(identity)
        touched.addresses.formUnion(workload.ips)
    }

    /// What a SPIFFE ID identifies: its one holder, or what its holders
    /// have in common (pods of one service account share its ID, so the ID
    /// alone says only that), or nothing while it clashes.
    private mutating func decideSpiffe(_ spiffe: String) {
        let holders = spiffeHolders[spiffe] ?? []
        guard !holders.isEmpty, !isWithheld(spiffe) else {
            bySpiffe.removeValue(forKey: spiffe)
            return
        }
        if holders.count == 1 {
            bySpiffe[spiffe] = entries[holders.first!]
            return
        }
        var namespace: String??
        var serviceAccount: String??
        for holder in holders {
            guard let workload = workloads[holder] else { continue }
            namespace = namespace.map { $0 == workload.namespace ? $0 : nil } ?? workload.namespace
            serviceAccount = serviceAccount.map { $0 == workload.serviceAccount ? $0 : nil } ?? workload.serviceAccount
        }
        let shared = SourceIdentity(namespace: namespace ?? nil, serviceAccount: serviceAccount ?? nil, spiffe: spiffe)
        if bySpiffe[spiffe]?.identity != shared { bySpiffe[spiffe] = Entry(shared) }
    }

    /// Records whether `key` is claimed twice now; a clash that is new, or
    /// has new claimants, goes into `appeared`.
    private mutating func settle(_ key: ClaimKey, _ claims: Set<Claimant>, _ appeared: inout [Conflict]) {
        guard claims.count > 1 else {
            conflicts.removeValue(forKey: key)
            return
        }
        let conflict = Conflict(kind: key.kind, value: key.value, claimants: claims.map(\.description).sorted())
        if conflicts[key] != conflict { appeared.append(conflict) }
        conflicts[key] = conflict
    }
}
