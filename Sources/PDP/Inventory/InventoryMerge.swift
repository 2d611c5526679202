import EgressAPI

/// The rules for what the inventory accepts and how its partitions become
/// one, in one place.
///
/// - Within a partition an operator keeps, a malformed workload, a name
///   listed twice, or an address or SPIFFE ID claimed twice is refused
///   (`validate`): the whole update is, and the partition stays as it was.
/// - Across partitions (and within one that cannot refuse what it is told,
///   such as a watch of the Kubernetes API), a clash is never settled by
///   picking a side: an address or SPIFFE ID that two workloads claim
///   identifies neither while the clash lasts (decisions for it see no
///   identity, so only rules for everyone can allow it), and each clash is
///   reported (`Conflict`). A SPIFFE ID a partition derives for many
///   workloads (`spiffeIsExclusive` false: a service account's) is not a
///   clash. `InventoryTables` applies these rules change by change.
enum InventoryMerge {
    /// One clash, as logged and counted.
    struct Conflict: Hashable, Sendable, CustomStringConvertible {
        enum Kind: String, Sendable {
            case address, spiffe, name
        }

        let kind: Kind
        /// The address, SPIFFE ID or `namespace/pod` claimed twice.
        let value: String
        /// The claimants, as `partition:namespace/pod`, sorted.
        let claimants: [String]

        var description: String { "\(kind.rawValue) \(value) is claimed by \(claimants.joined(separator: " and "))" }
    }

    /// Refuses a partition where a workload is malformed, a name is listed
    /// twice, or two workloads claim one address or SPIFFE ID: an operator
    /// is told at once rather than left with an identity that decides nothing.
    static func validate(_ workloads: [Workload]) throws {
        var owners: [String: String] = [:]
        var spiffeOwners: [String: String] = [:]
        var names = Set<String>()
        for (i, w) in workloads.enumerated() {
            let name = "\(w.namespace)/\(w.pod)"
            if let problem = w.problems().first {
                // Escaped: the name may hold the very characters refused.
                throw StoreError.invalid("workload \(i) (\(name.debugDescription)): \(problem)")
            }
            if !names.insert(name).inserted { throw StoreError.invalid("workload \(name) is listed twice") }
            for ip in w.ips {
                let normal = IPAddressText.normalize(ip) ?? ip
                if let other = owners[normal], other != name {
                    throw StoreError.invalid("address \(ip) is held by both \(other) and \(name)")
                }
                owners[normal] = name
            }
            if let spiffe = w.spiffe {
                if let other = spiffeOwners[spiffe] {
                    throw StoreError.invalid("SPIFFE ID \(spiffe) is held by both \(other) and \(name)")
                }
                spiffeOwners[spiffe] = name
            }
        }
    }
}
