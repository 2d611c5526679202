/// How installed rules differ from a plan's, and the `iptables-restore`
/// input that makes them equal (or removes them), one table at a time.
/// Without I/O, so that each rule of the comparison is tested alone.
public enum InterceptDiff {
    static let prefix = InterceptRules.chainPrefix

    /// Whether a rule of a built-in chain leads into one of egress-pep's:
    /// its target (the word after its `-j` or `-g`) is ours. Words are
    /// compared, with iptables-save's quoted strings kept whole, not text:
    /// another agent's comment or log prefix that mentions our chains
    /// (`--comment "... -j EGRESS-PEP-X"`) makes no jump of ours.
    static func entersOurs(_ rule: String) -> Bool {
        var words: [Substring] = []
        var quoted = false
        var start = rule.startIndex
        for index in rule.indices {
            let character = rule[index]
            if character == "\"" { quoted.toggle() }
            if character == " ", !quoted {
                words.append(rule[start..<index])
                start = rule.index(after: index)
            }
        }
        words.append(rule[start...])
        guard let jump = words.firstIndex(where: { $0 == "-j" || $0 == "-g" }), jump + 1 < words.count else { return false }
        return words[jump + 1].hasPrefix(prefix)
    }

    /// What differs in one table, each as a sentence; empty when it is as
    /// expected.
    public static func differences(_ expected: InterceptRules.Table, _ saved: SavedRules.Table?) -> [String] {
        let saved = saved ?? SavedRules.Table()
        let table = expected.name
        var problems: [String] = []
        for chain in expected.chains {
            guard saved.chains.contains(chain.name) else {
                problems.append("\(table) table: chain \(chain.name) is missing")
                continue
            }
            let installed = saved.rules(of: chain.name)
            for rule in chain.rules where !installed.contains(rule) {
                problems.append("\(table) table: \(chain.name) lacks '\(rule)'")
            }
            for rule in installed where !chain.rules.contains(rule) {
                problems.append("\(table) table: \(chain.name) has an unexpected rule '\(rule)'")
            }
            if Set(installed) == Set(chain.rules) && installed != chain.rules {
                problems.append("\(table) table: \(chain.name) holds its rules in another order")
            }
        }
        let expectedChains = Set(expected.chains.map(\.name))
        for chain in saved.chains where chain.hasPrefix(prefix) && !expectedChains.contains(chain) {
            problems.append("\(table) table: chain \(chain) is not expected")
        }
        for jump in expected.jumps {
            let rules = saved.rules(of: jump.builtin)
            let count = rules.filter { $0 == jump.rule }.count
            if count == 0 {
                problems.append("\(table) table: \(jump.builtin) does not jump to \(jump.target)")
            } else if rules.first != jump.rule {
                problems.append("\(table) table: the jump to \(jump.target) is not the first rule of \(jump.builtin)")
            } else if count > 1 {
                problems.append("\(table) table: \(jump.builtin) jumps to \(jump.target) \(count) times")
            }
        }
        for (chain, rules) in saved.rules where !chain.hasPrefix(prefix) {
            for rule in rules where entersOurs(rule) && !expected.jumps.contains(where: { $0.builtin == chain && $0.rule == rule }) {
                problems.append("\(table) table: \(chain) has an unexpected jump '\(rule)'")
            }
        }
        return problems
    }

    /// `iptables-restore --noflush` input that replaces egress-pep's share
    /// of the table by `expected` (nil: removes it), leaving every other
    /// rule as it is. Applied as one transaction.
    public static func restoreScript(_ expected: InterceptRules.Table?, _ saved: SavedRules.Table?, table: String) -> String {
        let saved = saved ?? SavedRules.Table()
        let ours = saved.chains.filter { $0.hasPrefix(prefix) }
        let wanted = expected?.chains ?? []
        var lines = ["*\(table)"]
        // Declaring a chain flushes it (and makes it when it is missing).
        var declared = Set<String>()
        for chain in wanted.map(\.name) + ours where declared.insert(chain).inserted {
            lines.append(":\(chain) - [0:0]")
        }
        for (chain, rules) in saved.rules.sorted(by: { $0.key < $1.key }) where !chain.hasPrefix(prefix) {
            for rule in rules where entersOurs(rule) { lines.append("-D \(chain) \(rule)") }
        }
        for chain in wanted {
            for rule in chain.rules { lines.append("-A \(chain.name) \(rule)") }
        }
        for jump in expected?.jumps ?? [] { lines.append("-I \(jump.builtin) 1 \(jump.rule)") }
        let kept = Set(wanted.map(\.name))
        for chain in ours where !kept.contains(chain) { lines.append("-X \(chain)") }
        lines.append("COMMIT")
        return lines.joined(separator: "\n") + "\n"
    }
}
