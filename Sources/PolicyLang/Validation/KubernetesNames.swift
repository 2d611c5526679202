/// Kubernetes' syntax rules for the names a selector term may hold
/// (`invalid-selector`). Each check returns `nil` when the text is valid, or a
/// message that says what is wrong.
public enum KubernetesNames {
    private static func isLowerAlnum(_ b: UInt8) -> Bool {
        (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9"))
    }

    private static func isAlnum(_ b: UInt8) -> Bool {
        isLowerAlnum(b) || (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z"))
    }

    /// RFC 1123 label: namespaces.
    public static func checkLabel(_ text: String, what: String) -> String? {
        let bytes = Array(text.utf8)
        if bytes.isEmpty { return "expected a \(what)" }
        if bytes.count > 63 { return "\(what) '\(text)' is \(bytes.count) characters long; at most 63 are allowed" }
        if !bytes.allSatisfy({ isLowerAlnum($0) || $0 == UInt8(ascii: "-") }) || !(bytes.first.map(isLowerAlnum) ?? false)
            || !(bytes.last.map(isLowerAlnum) ?? false)
        {
            return "\(what) '\(text)' must be lower-case letters, digits and '-', starting and ending with a letter or digit"
        }
        return nil
    }

    /// RFC 1123 subdomain: service accounts, pods, label key prefixes.
    /// `allowGlob` admits `*` anywhere (pod name globs).
    public static func checkSubdomain(_ text: String, what: String, allowGlob: Bool = false) -> String? {
        let bytes = Array(text.utf8)
        if bytes.isEmpty { return "expected a \(what)" }
        if bytes.count > 253 { return "\(what) '\(text)' is \(bytes.count) characters long; at most 253 are allowed" }
        for label in text.split(separator: ".", omittingEmptySubsequences: false) {
            let b = Array(label.utf8)
            let star = UInt8(ascii: "*")
            let edgeOK: (UInt8) -> Bool = { isLowerAlnum($0) || (allowGlob && $0 == star) }
            if b.isEmpty || !b.allSatisfy({ edgeOK($0) || $0 == UInt8(ascii: "-") }) || !(b.first.map(edgeOK) ?? false)
                || !(b.last.map(edgeOK) ?? false)
            {
                return "\(what) '\(text)' must be lower-case letters, digits, '-' and '.'"
                    + (allowGlob ? " (and '*' as a glob)" : "")
                    + ", each part starting and ending with a letter or digit"
            }
        }
        return nil
    }

    /// A label name: at most 63 of `[A-Za-z0-9._-]`, alphanumeric at both ends.
    private static func checkName(_ bytes: [UInt8]) -> Bool {
        guard let first = bytes.first, let last = bytes.last else { return false }
        return bytes.count <= 63 && isAlnum(first) && isAlnum(last)
            && bytes.allSatisfy { isAlnum($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") }
    }

    public static func checkLabelKey(_ key: String) -> String? {
        let parts = key.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        if parts.count == 2 {
            if let problem = checkSubdomain(String(parts[0]), what: "label key prefix") { return problem }
        }
        let name = Array((parts.last ?? "").utf8)
        if key.filter({ $0 == "/" }).count > 1 || !checkName(name) {
            return "label key '\(key)' must be an optional DNS prefix and '/', then at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit"
        }
        return nil
    }

    public static func checkLabelValue(_ value: String) -> String? {
        let bytes = Array(value.utf8)
        if bytes.isEmpty || checkName(bytes) { return nil }
        return "label value '\(value)' must be at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit"
    }

    /// `spiffe://trust-domain/path`, per the SPIFFE ID specification.
    public static func checkSPIFFE(_ id: String) -> String? {
        guard id.hasPrefix("spiffe://") else { return "SPIFFE ID '\(id)' must start with 'spiffe://'" }
        let rest = id.dropFirst("spiffe://".count)
        let parts = rest.split(separator: "/", omittingEmptySubsequences: false)
        let domain = parts[0]
        if domain.isEmpty
            || !domain.utf8.allSatisfy({ isLowerAlnum($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") })
        {
            return "SPIFFE ID '\(id)' needs a trust domain of lower-case letters, digits, '.', '-' and '_'"
        }
        for segment in parts.dropFirst() {
            if segment.isEmpty || segment == "." || segment == ".."
                || !segment.utf8.allSatisfy({ isAlnum($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") })
            {
                return "SPIFFE ID '\(id)' has an invalid path segment '\(segment)'"
            }
        }
        return nil
    }
}
