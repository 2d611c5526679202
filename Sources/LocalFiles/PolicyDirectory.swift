import EgressAPI
import Foundation

/// Reads a policy directory the way a revision holds it: the `.egress` files
/// directly inside it (tests included), named by file name, in sorted order.
/// Shared by `egress-pdp --policies` and `egressctl apply`.
public enum PolicyDirectory {
    public struct ReadError: Error, CustomStringConvertible, Sendable {
        public let path: String
        public let reason: String
        public var description: String { "\(path): \(reason)" }
    }

    public static func files(in directory: String) throws(ReadError) -> [Revision.File] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw ReadError(path: directory, reason: "no such directory")
        }
        var files: [Revision.File] = []
        for name in names.filter({ $0.hasSuffix(".egress") }).sorted() {
            let path = (directory as NSString).appendingPathComponent(name)
            guard let data = FileManager.default.contents(atPath: path) else {
                throw ReadError(path: path, reason: "cannot read file")
            }
            files.append(Revision.File(path: name, content: String(decoding: data, as: UTF8.self)))
        }
        if files.isEmpty { throw ReadError(path: directory, reason: "no .egress files found") }
        return files
    }
}
