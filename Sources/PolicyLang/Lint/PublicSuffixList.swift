/// The Public Suffix List (publicsuffix.org), as shipped by Debian's
/// `publicsuffix` package. Callers read the file and hand over its text.
public struct PublicSuffixList: Sendable {
    private let rules: Set<String>
    private let wildcards: Set<String>
    private let exceptions: Set<String>

    /// Debian's copy of the list.
    public static let debianPath = "/usr/share/publicsuffix/public_suffix_list.dat"

    /// An empty list: only the implicit rule applies (every single label, such as `com`, is a public suffix).
    public static let implicitOnly = PublicSuffixList(text: "")

    public init(text: String) {
        var rules = Set<String>(), wildcards = Set<String>(), exceptions = Set<String>()
        for rawLine in text.split(whereSeparator: \.isNewline) {
            let line = rawLine.split(whereSeparator: { $0 == " " || $0 == "\t" }).first.map(String.init) ?? ""
            if line.isEmpty || line.hasPrefix("//") { continue }
            let ascii = Punycode.toASCII(line.hasPrefix("!") ? String(line.dropFirst()) : line)
            if line.hasPrefix("!") {
                exceptions.insert(ascii)
            } else if line.hasPrefix("*.") {
                wildcards.insert(String(ascii.dropFirst(2)))
            } else {
                rules.insert(ascii)
            }
        }
        self.rules = rules
        self.wildcards = wildcards
        self.exceptions = exceptions
    }

    public var count: Int { rules.count + wildcards.count + exceptions.count }

    /// Whether `name` (lower-case, punycode) is itself a public suffix, so
    /// that `*.name` spans names registered by unrelated owners.
    public func isPublicSuffix(_ name: String) -> Bool {
        if exceptions.contains(name) { return false }
        if rules.contains(name) || !name.contains(".") { return true }
        guard let dot = name.firstIndex(of: ".") else { return true }
        return wildcards.contains(String(name[name.index(after: dot)...]))
    }
}
