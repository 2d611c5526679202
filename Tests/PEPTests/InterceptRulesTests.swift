@testable import Intercept
import Testing

/// The interception rules without iptables: what a plan makes, how the
/// installed rules are compared with it, and the restore input that mends
/// them. (Tests/e2e/node-e2e runs them against real iptables.)
struct InterceptRulesTests {
    static func plan() throws -> InterceptPlan {
        var plan = InterceptPlan()
        plan.podInterfaces = ["veth+"]
        plan.podCIDRs = [try CIDR(parsing: "198.18.16.0/20"), try CIDR(parsing: "fd00:18::/64")]
        plan.clusterCIDRs = [try CIDR(parsing: "198.19.0.0/16")]
        plan.allowed = [try .init(parsing: "198.19.255.5:tcp/5432"), try .init(parsing: "fd00:99::/64")]
        return plan
    }

    @Test func rangesAreWrittenAsIptablesPrintsThem() throws {
        #expect(try CIDR(parsing: "10.1.2.3/8").description == "10.0.0.0/8")
        #expect(try CIDR(parsing: "203.0.113.7").description == "203.0.113.7/32")
        #expect(try CIDR(parsing: "FD00:0:0:0::1/48").description == "fd00::/48")
        #expect(try CIDR(parsing: "2001:db8::1").description == "2001:db8::1/128")
        for bad in ["10.0.0.0/33", "fd00::/129", "10.0.0/8", "example.com", "10.0.0.0/", "10.0.0.0/٣"] {
            #expect(throws: CIDR.ParseError.self, "\(bad)") { try CIDR(parsing: bad) }
        }
    }

    @Test func allowedDestinationsTakeAnOptionalPortAfterTheRange() throws {
        let database = try InterceptPlan.AllowedDestination(parsing: "2001:db8::5:tcp/5432")
        #expect(database.cidr.description == "2001:db8::5/128" && database.port?.proto == .tcp && database.port?.number == 5432)
        #expect(try InterceptPlan.AllowedDestination(parsing: "2001:db8::/32").port == nil)
        #expect(try InterceptPlan.AllowedDestination(parsing: "203.0.113.0/24:udp/123").description == "203.0.113.0/24:udp/123")
        #expect(throws: CIDR.ParseError.self) { try InterceptPlan.AllowedDestination(parsing: "203.0.113.0/24:tcp/0") }
        #expect(throws: CIDR.ParseError.self) { try InterceptPlan.AllowedDestination(parsing: "203.0.113.0/24:sctp/9") }
    }

    @Test func aPlanWithoutPodsOrTheClustersRangesIsRefused() throws {
        var plan = InterceptPlan()
        #expect(plan.problem?.contains("--pod-interface or --pod-cidr") == true)
        plan.podInterfaces = ["veth+"]
        #expect(plan.problem?.contains("--cluster-cidr") == true)
        plan.clusterCIDRs = [try CIDR(parsing: "10.96.0.0/12")]
        #expect(plan.problem == nil)
        plan.podInterfaces = ["veth+; rm -rf /"]
        #expect(plan.problem?.contains("not an interface name") == true)
        plan.podInterfaces = ["cali+"]
        plan.ports = Array(1...16)
        #expect(plan.problem?.contains("at most 15") == true)
    }

    @Test func eachFamilyGetsItsOwnRanges() throws {
        let v4 = InterceptRules.tables(for: try Self.plan(), family: .ipv4)
        #expect(v4.map(\.name) == ["raw", "nat", "filter"])
        let nat = v4[1]
        #expect(nat.jumps == [.init(builtin: "PREROUTING", target: "EGRESS-PEP-PREROUTING")])
        #expect(nat.chains[0].rules == ["-i veth+ -g EGRESS-PEP-POD", "-s 198.18.16.0/20 -g EGRESS-PEP-POD"])
        #expect(nat.chains[1].rules == [
            "-d 198.18.16.0/20 -j RETURN", "-d 198.19.0.0/16 -j RETURN",
            "-p tcp -m multiport --dports 443 -j REDIRECT --to-ports 15001",
        ])
        let filter = v4[2].chains[1].rules
        #expect(filter.first == "-m conntrack --ctstate RELATED,ESTABLISHED -j RETURN")
        #expect(filter.suffix(3) == ["-p udp -m multiport --dports 443 -j DROP", "-d 198.19.255.5/32 -p tcp -m multiport --dports 5432 -j RETURN", "-j DROP"])
        #expect(v4[0].chains[0].rules == ["-i veth+ -m rpfilter --invert -j DROP", "-s 198.18.16.0/20 -m rpfilter --invert -j DROP"])

        let v6 = InterceptRules.tables(for: try Self.plan(), family: .ipv6)
        #expect(v6[1].chains[1].rules.first == "-d fd00:18::/64 -j RETURN")
        #expect(v6[2].chains[1].rules.contains("-d fd00:99::/64 -j RETURN"))
        #expect(!v6.flatMap(\.chains).flatMap(\.rules).contains { $0.contains("198.") })
    }

    /// With a DNS port, pods' DNS goes to egress-dns before the cluster's
    /// ranges return: the cluster DNS is one of them.
    @Test func dnsIsRedirectedBeforeTheClustersRangesReturn() throws {
        var plan = try Self.plan()
        plan.dnsPort = 15053
        let rules = InterceptRules.tables(for: plan, family: .ipv4)[1].chains[1].rules
        #expect(Array(rules.prefix(3)) == [
            "-p udp -m udp --dport 53 -j REDIRECT --to-ports 15053", "-p tcp -m tcp --dport 53 -j REDIRECT --to-ports 15053",
            "-d 198.18.16.0/20 -j RETURN",
        ])
        #expect(InterceptRules.tables(for: plan, family: .ipv6)[1].chains[1].rules.first?.contains("--dport 53") == true)
        plan.dnsPort = 70000
        #expect(plan.problem == "ports must be 1-65535")
        #expect(!InterceptRules.tables(for: try Self.plan(), family: .ipv4)[1].chains[1].rules.contains { $0.contains("--dport 53") })
    }

    /// Installed rules as iptables-save prints them after an install.
    static func installed(_ table: InterceptRules.Table, builtin extra: [String] = []) -> SavedRules.Table {
        var saved = SavedRules.Table()
        saved.chains = ["PREROUTING", "FORWARD"] + table.chains.map(\.name)
        for jump in table.jumps { saved.rules[jump.builtin, default: []].append(jump.rule) }
        for chain in table.chains { saved.rules[chain.name] = chain.rules }
        for rule in extra { saved.rules["FORWARD", default: []].append(rule) }
        return saved
    }

    @Test func theInstalledRulesAsExpectedShowNoDifference() throws {
        for table in InterceptRules.tables(for: try Self.plan(), family: .ipv4) {
            // Others' rules after ours are not ours to judge.
            #expect(InterceptDiff.differences(table, Self.installed(table, builtin: ["-i eth0 -j ACCEPT"])) == [])
        }
    }

    @Test func everyKindOfDifferenceIsNamed() throws {
        let filter = InterceptRules.tables(for: try Self.plan(), family: .ipv4)[2]
        var saved = Self.installed(filter)
        saved.rules["EGRESS-PEP-POD"]?.removeLast()  // the final DROP, deleted by hand
        saved.rules["EGRESS-PEP-POD"]?.append("-j ACCEPT")
        saved.rules["FORWARD"] = ["-i eth0 -j ACCEPT", "-j EGRESS-PEP-FORWARD", "-j EGRESS-PEP-FORWARD"]
        saved.chains.append("EGRESS-PEP-OLD")
        #expect(InterceptDiff.differences(filter, saved) == [
            "filter table: EGRESS-PEP-POD lacks '-j DROP'",
            "filter table: EGRESS-PEP-POD has an unexpected rule '-j ACCEPT'",
            "filter table: chain EGRESS-PEP-OLD is not expected",
            "filter table: the jump to EGRESS-PEP-FORWARD is not the first rule of FORWARD",
        ])
        var reordered = Self.installed(filter)
        reordered.rules["EGRESS-PEP-POD"]?.reverse()
        #expect(InterceptDiff.differences(filter, reordered) == ["filter table: EGRESS-PEP-POD holds its rules in another order"])
        #expect(InterceptDiff.differences(filter, nil) == [
            "filter table: chain EGRESS-PEP-FORWARD is missing", "filter table: chain EGRESS-PEP-POD is missing",
            "filter table: FORWARD does not jump to EGRESS-PEP-FORWARD",
        ])
    }

    @Test func theRestoreInputReplacesOursAndLeavesTheRest() throws {
        let nat = InterceptRules.tables(for: try Self.plan(), family: .ipv4)[1]
        var saved = SavedRules.Table()
        saved.chains = ["PREROUTING", "EGRESS-PEP-PREROUTING", "EGRESS-PEP-STALE"]
        saved.rules["PREROUTING"] = ["-j KUBE-SERVICES", "-j EGRESS-PEP-PREROUTING"]
        let script = InterceptDiff.restoreScript(nat, saved, table: "nat")
        let lines = script.split(separator: "\n").map(String.init)
        #expect(lines.first == "*nat" && lines.last == "COMMIT")
        #expect(lines.contains(":EGRESS-PEP-STALE - [0:0]") && lines.contains("-X EGRESS-PEP-STALE"))
        #expect(lines.contains("-D PREROUTING -j EGRESS-PEP-PREROUTING") && lines.contains("-I PREROUTING 1 -j EGRESS-PEP-PREROUTING"))
        #expect(!lines.contains { $0.contains("KUBE-SERVICES") }, "others' rules are left as they are")
        let removal = InterceptDiff.restoreScript(nil, saved, table: "nat").split(separator: "\n").map(String.init)
        #expect(removal.filter { $0.hasPrefix("-X ") }.sorted() == ["-X EGRESS-PEP-PREROUTING", "-X EGRESS-PEP-STALE"])
        #expect(!removal.contains { $0.hasPrefix("-A ") || $0.hasPrefix("-I ") })
    }

    /// Another agent's rules that only mention our chains are not ours:
    /// neither reported nor deleted.
    @Test func onlyARulesTargetMakesItAJumpIntoOurs() {
        #expect(InterceptDiff.entersOurs("-j EGRESS-PEP-PREROUTING"))
        #expect(InterceptDiff.entersOurs("-i veth+ -g EGRESS-PEP-POD"))
        #expect(!InterceptDiff.entersOurs(#"-m comment --comment "sends -j EGRESS-PEP-X" -j ACCEPT"#))
        #expect(!InterceptDiff.entersOurs(#"-p tcp -j LOG --log-prefix "-j EGRESS-PEP-Y ""#))
        #expect(!InterceptDiff.entersOurs("-j KUBE-SERVICES"))
        #expect(!InterceptDiff.entersOurs("-m comment --comment EGRESS-PEP-POD -j"))
        #expect(!InterceptDiff.entersOurs(""))
    }

    /// A large cluster's nat table: only the built-in chains, ours, and
    /// another chain's jump into ours are kept. Lines out of place (a rule
    /// before any table, in a chain never declared) are no harm.
    @Test func savedRulesKeepOnlyWhatAComparisonNeeds() {
        var lines = ["-A PREROUTING -j EGRESS-PEP-PREROUTING", "*nat", ":PREROUTING ACCEPT [0:0]", ":KUBE-SERVICES - [0:0]"]
        for index in 0..<100_000 {
            lines.append(":KUBE-SEP-\(index) - [0:0]")
            lines.append("-A KUBE-SEP-\(index) -p tcp -m comment --comment \"ns/svc-\(index)\" -j DNAT --to-destination 10.1.2.3:80")
        }
        lines += [
            "-A PREROUTING -j KUBE-SERVICES", "-A PREROUTING -j EGRESS-PEP-PREROUTING",
            "-A KUBE-SERVICES -j EGRESS-PEP-POD", "-A NEVER-DECLARED -j EGRESS-PEP-POD", "-A NEVER-DECLARED -j ACCEPT", "COMMIT",
            "-A FORWARD -j EGRESS-PEP-FORWARD",
        ]
        let nat = SavedRules(parsing: lines.joined(separator: "\n")).tables["nat"]
        #expect(nat?.chains == ["PREROUTING"])
        #expect(nat?.rules.count == 3)
        #expect(nat?.rules(of: "PREROUTING") == ["-j KUBE-SERVICES", "-j EGRESS-PEP-PREROUTING"])
        #expect(nat?.rules(of: "KUBE-SERVICES") == ["-j EGRESS-PEP-POD"])
        #expect(nat?.rules(of: "NEVER-DECLARED") == ["-j EGRESS-PEP-POD"])
    }

    @Test func savedRulesAreReadTableByTable() {
        let text = """
            # Generated by iptables-save v1.8.9 (nf_tables)
            *nat
            :PREROUTING ACCEPT [0:0]
            :EGRESS-PEP-POD - [0:0]
            -A PREROUTING -j EGRESS-PEP-PREROUTING
            -A EGRESS-PEP-POD -d 10.0.0.0/8 -j RETURN
            COMMIT
            *filter
            :FORWARD DROP [3:180]
            COMMIT
            """
        let saved = SavedRules(parsing: text)
        #expect(saved.tables["nat"]?.chains == ["PREROUTING", "EGRESS-PEP-POD"])
        #expect(saved.tables["nat"]?.rules(of: "EGRESS-PEP-POD") == ["-d 10.0.0.0/8 -j RETURN"])
        #expect(saved.tables["filter"]?.chains == ["FORWARD"])
    }
}
