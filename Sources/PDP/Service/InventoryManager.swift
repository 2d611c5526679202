import EgressAPI
import Foundation
import Logging
import NIOConcurrencyHelpers
import WorkloadsFile
import LocalFiles

/// Keeps the workload inventory: in the database, in the decision engine, and
/// in step with a YAML or JSON file when one is given.
public final class InventoryManager: Sendable {
    let database: PDPDatabase
    let engine: DecisionEngine
    let logger: Logger
    private let changes = NIOLock()

    init(database: PDPDatabase, engine: DecisionEngine, logger: Logger) {
        self.database = database
        self.engine = engine
        self.logger = logger
    }

    func load() throws {
        let (generation, workloads) = try database.workloads()
        engine.install(workloads: workloads, generation: generation)
    }

    public func list() throws -> (generation: Int64, workloads: [Workload]) { try database.workloads() }

    public func put(_ workload: Workload) throws -> Int64 {
        try changes.withLock {
            // Checked with everything else, so that it cannot take another
            // workload's address or SPIFFE ID.
            var all = try database.workloads().workloads.filter { $0.namespace != workload.namespace || $0.pod != workload.pod }
            all.append(workload)
            try Self.validate(all)
            let generation = try database.putWorkload(workload)
            try reinstall()
            return generation
        }
    }

    public func delete(namespace: String, pod: String) throws -> Int64? {
        try changes.withLock {
            guard let generation = try database.deleteWorkload(namespace: namespace, pod: pod) else { return nil }
            try reinstall()
            return generation
        }
    }

    public func replace(_ workloads: [Workload]) throws -> Int64 {
        try Self.validate(workloads)
        return try changes.withLock {
            let generation = try database.replaceWorkloads(workloads)
            try reinstall()
            return generation
        }
    }

    private func reinstall() throws {
        let (generation, workloads) = try database.workloads()
        engine.install(workloads: workloads, generation: generation)
    }

    /// Refuses an inventory where a workload is malformed or two workloads
    /// claim one address: either would make decisions guess.
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

    // MARK: The inventory file

    /// Reads a workloads file: a YAML or JSON list of workloads, or an object
    /// with a `workloads` list.
    static func read(file path: String) throws -> [Workload] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw StoreError.io("cannot read the workloads file \(path)")
        }
        do {
            return try WorkloadsDocument.decode(String(decoding: data, as: UTF8.self))
        } catch {
            throw StoreError.invalid("\(path): \(error)")
        }
    }

    /// Loads the file now, then again whenever its modification time or size
    /// changes, until the task is cancelled. A bad file is reported and the
    /// inventory stays as it was.
    func follow(file path: String, every interval: Duration = .seconds(1), loadedAt initial: FileStamp? = nil) async {
        var seen = initial ?? FileStamp()
        while !Task.isCancelled {
            let stamp = FileStamp(path: path)
            if stamp != seen {
                seen = stamp
                do {
                    let workloads = try Self.read(file: path)
                    let generation = try replace(workloads)
                    logger.info(
                        "loaded the workloads file",
                        metadata: ["file": "\(path)", "workloads": "\(workloads.count)", "generation": "\(generation)"])
                } catch {
                    logger.error("workloads file not loaded; the inventory is unchanged", metadata: ["error": "\(error)"])
                }
            }
            try? await Task.sleep(for: interval)
        }
    }
}
