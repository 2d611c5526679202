/// Which part of the inventory a workload belongs to. Each part has one
/// owner that replaces or edits it; the parts are merged, by the rules in
/// `InventoryMerge`, into what decisions see.
public enum InventoryPartition: String, Sendable, CaseIterable {
    /// Kept by an operator and stored in the database: the workloads file
    /// and the admin API's `/v1/workloads` edit it. (A loaded file replaces
    /// it whole: the file is the operator's statement of it.)
    case stored
    /// Learnt from the Kubernetes API's pods and namespaces, kept in memory
    /// (the API is the record; it is listed again at start).
    case kubernetes

    /// Whether a SPIFFE ID belongs to one workload alone. An operator gives
    /// each workload its own; a pod's is derived from its service account,
    /// which its sibling pods share.
    var spiffeIsExclusive: Bool { self == .stored }
}

/// Something that keeps one partition of the inventory up to date for as
/// long as it runs: the workloads file today, the Kubernetes API next. It
/// hands whole lists (`InventoryManager.replace`) or single changes (`put`,
/// `delete`) to the inventory, which checks them, merges them with the
/// other partitions and installs the result; a list the inventory refuses
/// leaves the partition as it was, and the source reports it.
///
/// The admin API is the stored partition's other editor. It is not a
/// running source: each request is one `put`, `delete` or `replace`.
public protocol InventorySource: Sendable {
    /// The partition this source owns.
    var partition: InventoryPartition { get }
    /// Keeps the partition up to date until the task is cancelled.
    func run(updating inventory: InventoryManager) async
}
