import EgressAPI
import Foundation
import LocalFiles
import Logging
import WorkloadsFile

/// The workloads file (`--workloads`) as the stored partition's source: read
/// when the service starts, then again whenever its modification time or
/// size changes. A bad file is reported and the inventory stays as it was.
struct WorkloadsFileSource: InventorySource {
    let path: String
    /// The stamp of the version loaded at start, so that it is not loaded twice.
    let loadedAt: FileStamp?
    var interval: Duration = .seconds(1)
    let logger: Logger

    var partition: InventoryPartition { .stored }

    /// Reads a workloads file: a YAML or JSON list of workloads, or an object
    /// with a `workloads` list.
    static func read(_ path: String) throws -> [Workload] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw StoreError.io("cannot read the workloads file \(path)")
        }
        do {
            return try WorkloadsDocument.decode(String(decoding: data, as: UTF8.self))
        } catch {
            throw StoreError.invalid("\(path): \(error)")
        }
    }

    func run(updating inventory: InventoryManager) async {
        var seen = loadedAt ?? FileStamp()
        while !Task.isCancelled {
            let stamp = FileStamp(path: path)
            if stamp != seen {
                seen = stamp
                do {
                    let workloads = try Self.read(path)
                    let generation = try inventory.replace(workloads)
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
