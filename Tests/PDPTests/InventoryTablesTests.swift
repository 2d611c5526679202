import EgressAPI
import TestSupport
import Testing

@testable import PDP

/// The inventory's rules on their own: what a stored partition refuses, how
/// clashes between workloads are left unresolved and reported, and that the
/// tables kept change by change are the tables built from scratch.
struct InventoryTablesTests {
    static func pod(_ name: String, ips: [String], spiffe: String? = nil, namespace: String = "shop") -> Workload {
        Workload(namespace: namespace, pod: name, ips: ips).with(spiffe: spiffe)
    }

    @Test func withoutClashesEveryWorkloadIsKeptAsItIs() {
        var tables = InventoryTables()
        let workloads = [Self.pod("a", ips: ["198.18.0.1"]), Self.pod("b", ips: ["198.18.0.2", "2001:DB8::2"], spiffe: "spiffe://t/b")]
        let appeared = tables.replace(.stored, with: workloads)
        #expect(appeared.isEmpty && tables.conflicts.isEmpty)
        #expect(tables.byIP["198.18.0.1"]?.identity == workloads[0].identity)
        #expect(tables.byIP["2001:db8::2"]?.identity == workloads[1].identity, "addresses are kept in canonical form")
        #expect(tables.bySpiffe["spiffe://t/b"]?.identity == workloads[1].identity)
        #expect(tables.byIP.count == 3 && tables.bySpiffe.count == 1)
    }

    @Test func aClashingAddressIdentifiesNeitherAndIsReported() {
        // One address in two spellings: the clash is found on the canonical form.
        var tables = InventoryTables()
        _ = tables.replace(.stored, with: [Self.pod("a", ips: ["198.18.0.1", "198.18.0.3"])])
        let appeared = tables.replace(.kubernetes, with: [Self.pod("b", ips: ["::ffff:198.18.0.1"])])
        #expect(tables.byIP["198.18.0.1"] == nil)
        #expect(tables.byIP["198.18.0.3"]?.identity.pod == "a")
        #expect(appeared.count == 1)
        let conflict = appeared[0]
        #expect(conflict.kind == .address && conflict.value == "198.18.0.1")
        #expect(conflict.claimants == ["kubernetes:shop/b", "stored:shop/a"])
        #expect(conflict.description == "address 198.18.0.1 is claimed by kubernetes:shop/b and stored:shop/a")
        // Reported once: the same clash again is not new.
        let again = tables.apply(InventoryChange(upserts: [Self.pod("b", ips: ["198.18.0.1", "198.18.0.9"])]), to: .kubernetes)
        #expect(again.isEmpty && tables.conflicts.count == 1)
        // One lets go: the address identifies the other.
        _ = tables.apply(InventoryChange(removals: ["shop/b"]), to: .kubernetes)
        #expect(tables.byIP["198.18.0.1"]?.identity.pod == "a")
        #expect(tables.byIP["198.18.0.9"] == nil && tables.conflicts.isEmpty)
    }

    @Test func aClashingSPIFFEIDAndANameAreReported() {
        var tables = InventoryTables()
        _ = tables.replace(.stored, with: [
            Self.pod("a", ips: ["198.18.0.1"], spiffe: "spiffe://t/x"), Self.pod("b", ips: ["198.18.0.3"], spiffe: "spiffe://t/x"),
        ])
        #expect(tables.bySpiffe["spiffe://t/x"] == nil)
        #expect(tables.byIP["198.18.0.1"]?.identity.spiffe == nil, "a clashing SPIFFE ID identifies none of its holders")
        let appeared = tables.replace(.kubernetes, with: [Self.pod("a", ips: ["198.18.0.2"])])
        #expect(appeared.map(\.kind) == [.name])
        #expect(tables.byIP["198.18.0.2"]?.identity.pod == "a" && tables.byIP["198.18.0.1"]?.identity.pod == "a")
        #expect(tables.conflicts.values.map(\.kind).sorted { $0.rawValue < $1.rawValue } == [.name, .spiffe])
        // The clash ends: the ID identifies its holder again.
        _ = tables.replace(.stored, with: [Self.pod("a", ips: ["198.18.0.1"], spiffe: "spiffe://t/x")])
        #expect(tables.bySpiffe["spiffe://t/x"]?.identity.pod == "a")
        #expect(tables.byIP["198.18.0.1"]?.identity.spiffe == "spiffe://t/x")
    }

    /// A pod's status update restates its workload: nothing to install.
    @Test func aChangeThatRestatesWorkloadsChangesNothing() {
        var tables = InventoryTables()
        let pod = Self.pod("a", ips: ["198.18.0.1"])
        _ = tables.apply(InventoryChange(upserts: [pod]), to: .kubernetes)
        let version = tables.version
        _ = tables.apply(InventoryChange(upserts: [pod], removals: ["shop/never-was"]), to: .kubernetes)
        #expect(tables.version == version)
        var relabelled = pod
        relabelled.labels = ["app": "web"]
        _ = tables.apply(InventoryChange(upserts: [relabelled]), to: .kubernetes)
        #expect(tables.version == version + 1)
        #expect(tables.byIP["198.18.0.1"]?.identity.labels == ["app": "web"])
    }

    /// Random changes, applied one at a time, leave the tables that one
    /// replace of the final partitions builds from nothing. The generator
    /// draws from few names, addresses and IDs, so that clashes come and go.
    @Test func tablesKeptChangeByChangeAreTablesBuiltAtOnce() {
        var random = SeededGenerator(seed: 18)
        func roll(_ n: Int) -> Int { Int.random(in: 0..<n, using: &random) }
        var tables = InventoryTables()
        var partitions: [InventoryPartition: [String: Workload]] = [.stored: [:], .kubernetes: [:]]
        for step in 0..<3000 {
            let partition: InventoryPartition = roll(4) == 0 ? .stored : .kubernetes
            var change = InventoryChange()
            // Each name once per change, as a source hands them.
            for name in Set((0...roll(3)).map { _ in "p\(roll(12))" }).sorted() {
                if roll(3) == 0 {
                    change.removals.append("shop/" + name)
                    partitions[partition]?["shop/" + name] = nil
                } else {
                    let ips = (0..<roll(3)).map { _ in "198.18.0.\(roll(16))" }
                    let spiffe = roll(3) == 0 ? nil : "spiffe://t/sa\(roll(4))"
                    var workload = Self.pod(name, ips: ips, spiffe: spiffe)
                    workload.labels = ["step": "\(step % 5)"]
                    workload.serviceAccount = roll(2) == 0 ? "sa" : nil
                    change.upserts.append(workload)
                    partitions[partition]?["shop/" + name] = workload
                }
            }
            _ = tables.apply(change, to: partition)
            var fresh = InventoryTables()
            for (partition, workloads) in partitions { _ = fresh.replace(partition, with: Array(workloads.values)) }
            #expect(tables.byIP.mapValues(\.identity) == fresh.byIP.mapValues(\.identity), "step \(step)")
            #expect(tables.bySpiffe.mapValues(\.identity) == fresh.bySpiffe.mapValues(\.identity), "step \(step)")
            #expect(tables.conflicts == fresh.conflicts, "step \(step)")
            if tables.byIP.mapValues(\.identity) != fresh.byIP.mapValues(\.identity) { break }
        }
    }

    @Test func aStoredPartitionWithAClashIsRefusedWhole() {
        #expect(throws: StoreError.self) {
            try InventoryMerge.validate([Self.pod("a", ips: ["198.18.0.1"]), Self.pod("b", ips: ["198.18.0.1"])])
        }
        #expect(throws: StoreError.self) {
            try InventoryMerge.validate([Self.pod("a", ips: ["198.18.0.1"]), Self.pod("a", ips: ["198.18.0.2"])])
        }
        #expect(throws: StoreError.self) {
            try InventoryMerge.validate([Self.pod("a", ips: [], spiffe: "spiffe://t/x"), Self.pod("b", ips: [], spiffe: "spiffe://t/x")])
        }
        #expect(throws: StoreError.self) { try InventoryMerge.validate([Self.pod("a", ips: ["not-an-address"])]) }
        #expect(throws: Never.self) { try InventoryMerge.validate([Self.pod("a", ips: ["198.18.0.1"]), Self.pod("b", ips: ["198.18.0.2"])]) }
    }
}

extension Workload {
    fileprivate func with(spiffe: String?) -> Workload {
        var copy = self
        copy.spiffe = spiffe
        return copy
    }
}

