/// Rules as `iptables-save` prints them, table by table: what is installed,
/// to be compared with what a plan makes.
public struct SavedRules: Sendable, Equatable {
    public struct Table: Sendable, Equatable {
        /// Chains in the order printed, built-in and user-defined.
        public var chains: [String] = []
        /// Each chain's rules, each the text after `-A CHAIN `.
        public var rules: [String: [String]] = [:]

        public func rules(of chain: String) -> [String] { rules[chain] ?? [] }
    }

    public var tables: [String: Table] = [:]

    public init(tables: [String: Table] = [:]) {
        self.tables = tables
    }

    /// Reads `iptables-save` output (one table or several).
    public init(parsing text: String) {
        var current: String?
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            if line.hasPrefix("#") { continue }
            if line.hasPrefix("*") {
                current = String(line.dropFirst())
                tables[current!] = Table()
            } else if line == "COMMIT" {
                current = nil
            } else if let table = current, line.hasPrefix(":") {
                let name = line.dropFirst().prefix { $0 != " " }
                tables[table]?.chains.append(String(name))
            } else if let table = current, line.hasPrefix("-A ") {
                let rest = line.dropFirst(3)
                let chain = String(rest.prefix { $0 != " " })
                let rule = rest.dropFirst(chain.count).drop { $0 == " " }
                tables[table]?.rules[chain, default: []].append(String(rule))
            }
        }
    }
}
