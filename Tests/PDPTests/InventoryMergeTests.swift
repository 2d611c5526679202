import EgressAPI
import Testing

@testable import PDP

/// The inventory's rules on their own: what a stored partition refuses, and
/// how clashes between workloads are left unresolved and reported.
struct InventoryMergeTests {
    static func pod(_ name: String, ips: [String], spiffe: String? = nil, namespace: String = "shop") -> Workload {
        Workload(namespace: namespace, pod: name, ips: ips).with(spiffe: spiffe)
    }

    @Test func withoutClashesEveryWorkloadIsKeptAsItIs() {
        let workloads = [Self.pod("a", ips: ["198.18.0.1"]), Self.pod("b", ips: ["198.18.0.2", "2001:db8::2"], spiffe: "spiffe://t/b")]
        let merged = InventoryMerge.merge([(.stored, workloads)])
        #expect(merged.workloads == workloads)
        #expect(merged.conflicts.isEmpty)
    }

    @Test func aClashingAddressIdentifiesNeitherAndIsReported() {
        // One address in two spellings: the clash is found on the canonical form.
        let merged = InventoryMerge.merge([
            (.stored, [Self.pod("a", ips: ["198.18.0.1", "198.18.0.3"])]),
            (.stored, [Self.pod("b", ips: ["::ffff:198.18.0.1"])]),
        ])
        #expect(merged.workloads.map(\.ips) == [["198.18.0.3"], []])
        #expect(merged.conflicts.count == 1)
        let conflict = merged.conflicts[0]
        #expect(conflict.kind == .address && conflict.value == "198.18.0.1")
        #expect(conflict.claimants == ["stored:shop/a", "stored:shop/b"])
        #expect(conflict.description == "address 198.18.0.1 is claimed by stored:shop/a and stored:shop/b")
    }

    @Test func aClashingSPIFFEIDAndANameAreReported() {
        let merged = InventoryMerge.merge([
            (.stored, [Self.pod("a", ips: ["198.18.0.1"], spiffe: "spiffe://t/x")]),
            (.stored, [Self.pod("a", ips: ["198.18.0.2"], spiffe: "spiffe://t/x")]),
        ])
        #expect(merged.workloads.allSatisfy { $0.spiffe == nil })
        #expect(merged.workloads.map(\.ips) == [["198.18.0.1"], ["198.18.0.2"]])
        #expect(merged.conflicts.map(\.kind) == [.name, .spiffe])
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
