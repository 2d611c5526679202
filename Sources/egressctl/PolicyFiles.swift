import Foundation
import PolicyLang

/// Finds and reads `.egress` files. This is the only place egressctl touches
/// the file system for policies; PolicyLang itself does no I/O.
enum PolicyFiles {
    struct ReadError: Error, CustomStringConvertible {
        let path: String
        let reason: String
        var description: String { "\(path): \(reason)" }
    }

    static func read(_ path: String) throws -> SourceFile {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ReadError(path: path, reason: "cannot read file")
        }
        return SourceFile(path: path, bytes: [UInt8](data))
    }

    /// Every `.egress` file at or under `paths`, sorted, without duplicates.
    static func find(_ paths: [String]) throws -> [String] {
        var found = Set<String>()
        for path in paths.map(clean) {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw ReadError(path: path, reason: "no such file or directory")
            }
            if !isDirectory.boolValue {
                // A named file that is not a policy would otherwise be
                // skipped without a word, and its problems never reported.
                guard path.hasSuffix(".egress") else {
                    throw ReadError(path: path, reason: "not a policy file (the name must end in .egress)")
                }
                found.insert(path)
                continue
            }
            guard let walker = FileManager.default.enumerator(atPath: path) else {
                throw ReadError(path: path, reason: "cannot list directory")
            }
            for case let relative as String in walker where relative.hasSuffix(".egress") {
                found.insert(join(path, relative))
            }
        }
        return found.sorted()
    }

    /// The policy files (not tests) directly inside `directory`.
    /// An empty set is an error here: evaluating against nothing would
    /// quietly deny everything and look like a verdict.
    static func policySet(in directory: String) throws -> PolicySet {
        let paths = try policyPaths(in: directory)
        if paths.isEmpty {
            throw ReadError(path: clean(directory), reason: "no policy files (*.egress other than *_test.egress) in this directory")
        }
        return PolicySet(files: try paths.map(read))
    }

    static func policyPaths(in directory: String) throws -> [String] {
        let directory = clean(directory)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) else {
            throw ReadError(path: directory, reason: "no such directory")
        }
        guard isDirectory.boolValue else { throw ReadError(path: directory, reason: "not a directory") }
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw ReadError(path: directory, reason: "cannot list directory")
        }
        return names.filter { $0.hasSuffix(".egress") && !$0.hasSuffix("_test.egress") }
            .map { join(directory, $0) }
            .filter { path in
                var isDirectory: ObjCBool = false
                return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && !isDirectory.boolValue
            }
            .sorted()
    }

    /// `./a//b/` is `a/b`: the same file must always get the same name, since
    /// diagnostics are matched to the files named on the command line.
    /// `..` is kept as written: resolving it would need the file system.
    static func clean(_ path: String) -> String {
        let parts = path.split(separator: "/", omittingEmptySubsequences: true).filter { $0 != "." }
        let absolute = path.hasPrefix("/")
        if parts.isEmpty { return absolute ? "/" : "." }
        return (absolute ? "/" : "") + parts.joined(separator: "/")
    }

    static func directory(of path: String) -> String {
        let parent = (path as NSString).deletingLastPathComponent
        return parent.isEmpty ? "." : parent
    }

    private static func join(_ directory: String, _ name: String) -> String {
        directory == "." ? name : directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }

    /// Writes `text` to `path` through a temporary file and a rename, so that
    /// a crash never leaves a half-written policy.
    static func writeAtomically(_ text: String, to path: String) throws {
        do {
            try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw ReadError(path: path, reason: "cannot write: \(error.localizedDescription)")
        }
    }
}

import ArgumentParser

/// Runs a command body, turning a file that cannot be read into a message
/// and exit status 2, apart from the 1 that means "problems found".
func reportingFileErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as PolicyFiles.ReadError {
        StandardStreams.err("egressctl: \(error)\n")
        throw ExitCode(2)
    }
}
