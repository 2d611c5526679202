import ArgumentParser
import EgressAPI
import Foundation
import WorkloadsFile

struct WorkloadsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "workloads",
        abstract: "Show or change the workload inventory.",
        subcommands: [List.self, Replace.self, Delete.self],
        defaultSubcommand: List.self)

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the workloads.")
        @OptionGroup var connection: ServerOptions
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let client = try connection.client()
            try await reportingClientErrors {
                let page = try await client.get("v1/workloads", as: WorkloadsPage.self)
                if json { return try printJSON(page) }
                for w in page.workloads {
                    let labels = w.labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
                    StandardStreams.out(
                        "\(w.namespace)/\(w.pod)\tsa:\(w.serviceAccount ?? "-")\t\(labels.isEmpty ? "-" : labels)\t\(w.ips.joined(separator: ","))\(w.spiffe.map { "\t\($0)" } ?? "")\n")
                }
                StandardStreams.err("\(page.workloads.count) workloads, generation \(page.generation)\n")
            }
        }
    }

    struct Replace: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Replace the whole inventory with a YAML or JSON file (a list, or {workloads: [...]}).")
        @OptionGroup var connection: ServerOptions
        @Argument(help: "The workloads file.") var file: String

        func run() async throws {
            let client = try connection.client()
            try await reportingClientErrors {
                guard let data = FileManager.default.contents(atPath: file) else {
                    throw PolicyFiles.ReadError(path: file, reason: "cannot read file")
                }
                let workloads: [Workload]
                do {
                    workloads = try WorkloadsDocument.decode(String(decoding: data, as: UTF8.self))
                } catch {
                    throw PolicyFiles.ReadError(path: file, reason: "\(error)")
                }
                try await client.raw("PUT", "v1/workloads", body: WorkloadList(workloads: workloads))
                StandardStreams.out("inventory replaced: \(workloads.count) workloads\n")
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove one workload.")
        @OptionGroup var connection: ServerOptions
        @Argument(help: "NAMESPACE/POD") var workload: String

        func run() async throws {
            let parts = workload.split(separator: "/")
            guard parts.count == 2 else { throw ValidationError("expected NAMESPACE/POD, got '\(workload)'") }
            let client = try connection.client()
            try await reportingClientErrors {
                try await client.raw("DELETE", "v1/workloads/\(parts[0])/\(parts[1])", body: Optional<Int>.none)
                StandardStreams.out("removed \(workload)\n")
            }
        }
    }
}
