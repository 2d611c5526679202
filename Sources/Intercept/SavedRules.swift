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

    /// The chains the kernel has of itself: our jumps are placed first in them.
    static let builtins: Set<Substring> = ["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"]

    /// Reads `iptables-save` output (one table or several), keeping what a
    /// comparison with a plan needs: the built-in chains and egress-pep's own
    /// (their names and every rule), and any other rule that jumps into ours.
    /// The rest is skipped as it is read: with kube-proxy in iptables mode a
    /// large cluster's nat table holds hundreds of thousands of rules, and
    /// the rules container runs in 128 MiB.
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
                if Self.isKept(name) { tables[table]?.chains.append(String(name)) }
            } else if let table = current, line.hasPrefix("-A ") {
                let rest = line.dropFirst(3)
                let chain = rest.prefix { $0 != " " }
                let rule = String(rest.dropFirst(chain.count).drop { $0 == " " })
                guard Self.isKept(chain) || InterceptDiff.entersOurs(rule) else { continue }
                tables[table]?.rules[String(chain), default: []].append(rule)
            }
        }
    }

    private static func isKept(_ chain: Substring) -> Bool {
        builtins.contains(chain) || chain.hasPrefix(InterceptRules.chainPrefix)
    }
}
