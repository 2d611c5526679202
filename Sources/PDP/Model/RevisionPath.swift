/// The path of a policy file in a revision: plain, relative, and printable.
/// Paths are shown in diagnostics, logs and `egressctl` output and may be
/// written to disk by an operator's tooling, so anything that could climb
/// out of a directory (`..`, `\`), hide (control and bidirectional-override
/// characters) or mean different things on different systems is refused.
enum RevisionPath {
    /// At most this many bytes.
    static let maxLength = 255

    /// Why `path` may not name a policy file; `nil` when it may.
    static func problem(_ path: String) -> String? {
        let shown = String(reflecting: path)
        guard !path.isEmpty, path.utf8.count <= maxLength else {
            return "policy file path \(shown) must be 1 to \(maxLength) bytes"
        }
        guard path.hasSuffix(".egress") else { return "policy file path \(shown) must end in .egress" }
        for component in path.split(separator: "/", omittingEmptySubsequences: false) {
            guard !component.isEmpty, component != ".", component != ".." else {
                return "policy file path \(shown) must be relative, without empty, '.' or '..' parts"
            }
            guard let first = component.utf8.first, first != UInt8(ascii: "."), first != UInt8(ascii: "-"),
                component.utf8.allSatisfy(isAllowed)
            else {
                return "policy file path \(shown) may use only letters, digits, '.', '_' and '-' (not first) between '/'"
            }
        }
        return nil
    }

    /// The rule revisions stored before this one were held to: relative,
    /// without `..`, ending in `.egress`.
    static func storedProblem(_ path: String) -> String? {
        guard path.hasSuffix(".egress"), !path.hasPrefix("/"), !path.split(separator: "/").contains("..") else {
            return "policy file path \(String(reflecting: path)) must be relative, without '..', and end in .egress"
        }
        return nil
    }

    private static func isAllowed(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
            return true
        default:
            return false
        }
    }
}
