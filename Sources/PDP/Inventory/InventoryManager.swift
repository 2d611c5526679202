import EgressAPI
import Logging
import NIOConcurrencyHelpers

/// Keeps the workload inventory: each partition as its source leaves it
/// (the stored one in the database), and their merge in the decision
/// engine. Every change goes through here, so that the rules in
/// `InventoryMerge` are applied the same way whichever source made it.
public final class InventoryManager: Sendable {
    let database: PDPDatabase
    let engine: DecisionEngine
    let logger: Logger
    private let changes = NIOLock()
    /// The partitions kept in memory, and how many times they changed: the
    /// installed generation is the stored one's plus that count, so that
    /// it grows with every change of any partition.
    private let volatile = NIOLockedValueBox(Volatile())
    private struct Volatile {
        var kubernetes: [Workload] = []
        var changes: Int64 = 0
    }
    /// The clashes logged already: each is logged once, when it appears.
    private let reported = NIOLockedValueBox(Set<InventoryMerge.Conflict>())

    init(database: PDPDatabase, engine: DecisionEngine, logger: Logger) {
        self.database = database
        self.engine = engine
        self.logger = logger
    }

    /// Installs what the database holds: at start, before any source runs.
    func load() throws {
        _ = try changes.withLock { try reinstall() }
    }

    /// The stored partition and its generation, as the admin API lists it.
    public func list() throws -> (generation: Int64, workloads: [Workload]) { try database.workloads() }

    /// Adds or replaces one workload (by namespace and pod) in `partition`.
    public func put(_ workload: Workload, in partition: InventoryPartition = .stored) throws -> Int64 {
        try changes.withLock {
            switch partition {
            case .kubernetes:
                throw Self.replacedWhole
            case .stored:
                // Checked with the rest of its partition, so that it cannot
                // take another workload's address or SPIFFE ID.
                var all = try database.workloads().workloads.filter {
                    $0.namespace != workload.namespace || $0.pod != workload.pod
                }
                all.append(workload)
                try InventoryMerge.validate(all)
                let generation = try database.putWorkload(workload)
                try reinstall()
                return generation
            }
        }
    }

    /// Removes one workload from `partition`; nil when it holds no such workload.
    public func delete(namespace: String, pod: String, in partition: InventoryPartition = .stored) throws -> Int64? {
        try changes.withLock {
            switch partition {
            case .kubernetes:
                throw Self.replacedWhole
            case .stored:
                guard let generation = try database.deleteWorkload(namespace: namespace, pod: pod) else { return nil }
                try reinstall()
                return generation
            }
        }
    }

    /// Replaces the whole of `partition`. Refused as a whole when invalid.
    public func replace(_ workloads: [Workload], in partition: InventoryPartition = .stored) throws -> Int64 {
        try changes.withLock {
            switch partition {
            case .kubernetes:
                // Not refused for clashes: the API is the record, and two pods
                // claiming one address is a race to report, not an error.
                return try changeVolatile { $0.kubernetes = workloads }
            case .stored:
                try InventoryMerge.validate(workloads)
                let generation = try database.replaceWorkloads(workloads)
                try reinstall()
                return generation
            }
        }
    }

    /// The Kubernetes source hands its whole partition at every change
    /// (gathered), so single edits of it have no caller and are refused
    /// rather than kept as an untested second path.
    static let replacedWhole = StoreError.invalid("the kubernetes partition is replaced whole by its source")

    /// Changes the in-memory partitions and installs the result; called
    /// with `changes` held. Returns the installed generation.
    private func changeVolatile(_ change: (inout Volatile) -> Void) throws -> Int64 {
        volatile.withLockedValue {
            change(&$0)
            $0.changes += 1
        }
        return try reinstall()
    }

    /// Merges the partitions and installs the result; called with `changes`
    /// held. Returns the installed generation.
    @discardableResult
    private func reinstall() throws -> Int64 {
        let (storedGeneration, stored) = try database.workloads()
        let (kubernetes, changes) = volatile.withLockedValue { ($0.kubernetes, $0.changes) }
        let merged = InventoryMerge.merge([(.stored, stored), (.kubernetes, kubernetes)])
        let generation = storedGeneration + changes
        engine.install(workloads: merged.workloads, generation: generation)
        report(merged.conflicts)
        return generation
    }

    private func report(_ conflicts: [InventoryMerge.Conflict]) {
        engine.metrics.inventoryConflicts.set(to: Double(conflicts.count))
        let current = Set(conflicts)
        let new = reported.withLockedValue { reported in
            defer { reported = current }
            return conflicts.filter { !reported.contains($0) }
        }
        for conflict in new {
            logger.warning(
                "two workloads claim one identity; it identifies neither until one lets go",
                metadata: ["conflict": "\(conflict)"])
        }
    }
}
