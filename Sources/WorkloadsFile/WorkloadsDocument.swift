import EgressAPI
import Yams

/// The workloads file an operator writes (for `egress-pdp --workloads` and
/// `egressctl workloads apply`): YAML or JSON, either a bare list of
/// workloads or an object with a `workloads` list. One reader for both.
public enum WorkloadsDocument {
    /// Why the text is not a workloads document.
    public struct Invalid: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    public static func decode(_ text: String) throws(Invalid) -> [Workload] {
        do {
            if let list = try? YAMLDecoder().decode([Workload].self, from: text) { return list }
            return try YAMLDecoder().decode(WorkloadList.self, from: text).workloads
        } catch {
            throw Invalid(description: "not a list of workloads: \(error)")
        }
    }
}
