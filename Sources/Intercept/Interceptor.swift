/// Installs, checks and removes a node's interception rules, family by
/// family and table by table, each table changed in one transaction and
/// only when it differs: installing twice changes nothing the second time.
public struct Interceptor: Sendable {
    public let plan: InterceptPlan

    public init(plan: InterceptPlan) {
        self.plan = plan
    }

    /// What one table needed, for the report.
    public struct TableReport: Sendable, CustomStringConvertible {
        public let family: CIDR.Family
        public let table: String
        /// What differed before the change (or, for `check`, now); empty: as expected.
        public let differences: [String]

        /// Each difference with its family, as the command prints it.
        public var lines: [String] { differences.map { "\(family.rawValue) \($0)" } }

        public var description: String {
            differences.isEmpty ? "\(family.rawValue) \(table): as expected" : lines.joined(separator: "\n")
        }
    }

    /// The differences between the installed rules and the plan's.
    public func check() throws -> [TableReport] {
        try each { iptables, expected in
            InterceptDiff.differences(expected, try iptables.saved(expected.name))
        }
    }

    /// Makes the installed rules the plan's. Returns what differed before.
    public func install() throws -> [TableReport] {
        try each { iptables, expected in
            let saved = try iptables.saved(expected.name)
            let differences = InterceptDiff.differences(expected, saved)
            if !differences.isEmpty { try iptables.apply(InterceptDiff.restoreScript(expected, saved, table: expected.name)) }
            return differences
        }
    }

    /// Removes every rule and chain of egress-pep's, whatever plan made
    /// them. Returns, per table, what was removed.
    public static func remove(families: [CIDR.Family]) throws -> [TableReport] {
        var reports: [TableReport] = []
        for family in families {
            let iptables = Iptables(family: family)
            for table in InterceptRules.tables {
                let saved = try iptables.saved(table)
                let ours = saved.chains.filter { $0.hasPrefix(InterceptRules.chainPrefix) }
                let jumps = saved.rules.filter { !$0.key.hasPrefix(InterceptRules.chainPrefix) }
                    .flatMap { chain, rules in rules.filter(InterceptDiff.entersOurs).map { "\(chain) '\($0)'" } }
                let removed = ours.map { "\(table) table: chain \($0)" } + jumps.map { "\(table) table: rule \($0)" }
                if !removed.isEmpty { try iptables.apply(InterceptDiff.restoreScript(nil, saved, table: table)) }
                reports.append(TableReport(family: family, table: table, differences: removed))
            }
        }
        return reports
    }

    private func each(_ body: (Iptables, InterceptRules.Table) throws -> [String]) throws -> [TableReport] {
        var reports: [TableReport] = []
        for family in plan.families {
            let iptables = Iptables(family: family)
            for table in InterceptRules.tables(for: plan, family: family) {
                reports.append(TableReport(family: family, table: table.name, differences: try body(iptables, table)))
            }
        }
        return reports
    }
}
