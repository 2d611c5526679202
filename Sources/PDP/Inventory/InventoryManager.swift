import EgressAPI
import Logging
import NIOConcurrencyHelpers

/// Keeps the workload inventory: each partition as its source leaves it
/// (the stored one in the database), and their merge in the decision
/// engine. Every change goes through here, one at a time, so that the rules
/// in `InventoryMerge` are applied the same way whichever source made it,
/// and each is applied to the merged tables alone (`InventoryTables`).
public final class InventoryManager: Sendable {
    let database: PDPDatabase
    let engine: DecisionEngine
    let logger: Logger
    /// The merged tables and the generation they make; every change is made
    /// with this held.
    private let state = NIOLockedValueBox(State())
    private struct State {
        var tables = InventoryTables()
        var storedGeneration: Int64 = 0
        /// How many times the partitions kept in memory changed: the
        /// installed generation is the stored one's plus this, so that it
        /// grows with every change of any partition.
        var volatileChanges: Int64 = 0
        var generation: Int64 { storedGeneration + volatileChanges }
    }

    init(database: PDPDatabase, engine: DecisionEngine, logger: Logger) {
        self.database = database
        self.engine = engine
        self.logger = logger
    }

    /// Installs what the database holds: at start, before any source runs.
    func load() throws {
        try state.withLockedValue { state in
            let (generation, stored) = try database.workloads()
            state.storedGeneration = generation
            install(state.tables.replace(.stored, with: stored), &state)
        }
    }

    /// The stored partition and its generation, as the admin API lists it.
    public func list() throws -> (generation: Int64, workloads: [Workload]) { try database.workloads() }

    /// Adds or replaces one stored workload (by namespace and pod).
    public func put(_ workload: Workload) throws -> Int64 {
        try state.withLockedValue { state in
            // Checked with the rest of its partition, so that it cannot
            // take another workload's address or SPIFFE ID.
            var all = try database.workloads().workloads.filter {
                $0.namespace != workload.namespace || $0.pod != workload.pod
            }
            all.append(workload)
            try InventoryMerge.validate(all)
            state.storedGeneration = try database.putWorkload(workload)
            install(state.tables.apply(InventoryChange(upserts: [workload]), to: .stored), &state)
            return state.storedGeneration
        }
    }

    /// Removes one stored workload; nil when there is no such workload.
    public func delete(namespace: String, pod: String) throws -> Int64? {
        try state.withLockedValue { state in
            guard let generation = try database.deleteWorkload(namespace: namespace, pod: pod) else { return nil }
            state.storedGeneration = generation
            install(state.tables.apply(InventoryChange(removals: ["\(namespace)/\(pod)"]), to: .stored), &state)
            return generation
        }
    }

    /// Replaces the whole stored partition. Refused as a whole when invalid.
    public func replace(_ workloads: [Workload]) throws -> Int64 {
        try state.withLockedValue { state in
            try InventoryMerge.validate(workloads)
            state.storedGeneration = try database.replaceWorkloads(workloads)
            install(state.tables.replace(.stored, with: workloads), &state)
            return state.storedGeneration
        }
    }

    /// Applies a change of the Kubernetes API's partition, kept in memory.
    /// Not refused for clashes: the API is the record, and two pods claiming
    /// one address is a race to report, not an error. (The stored partition
    /// is edited by `put`, `delete` and `replace`, which check and store
    /// each change.) Returns the installed generation.
    func applyKubernetes(_ change: InventoryChange) -> Int64 {
        state.withLockedValue { state in
            let version = state.tables.version
            let appeared = state.tables.apply(change, to: .kubernetes)
            // A change that changed no workload (a status update) installs nothing.
            guard state.tables.version != version else { return state.generation }
            state.volatileChanges += 1
            install(appeared, &state)
            return state.generation
        }
    }

    /// Installs the tables; called with `state` held. Logs each clash once,
    /// when it appears.
    private func install(_ appeared: [InventoryMerge.Conflict], _ state: inout State) {
        engine.install(byIP: state.tables.byIP, bySpiffe: state.tables.bySpiffe, generation: state.generation)
        engine.metrics.inventoryConflicts.set(to: Double(state.tables.conflicts.count))
        for conflict in appeared {
            logger.warning(
                "two workloads claim one identity; it identifies neither until one lets go",
                metadata: ["conflict": "\(conflict)"])
        }
    }
}
