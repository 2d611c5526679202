/// The iptables rules a plan makes, per address family, written as
/// `iptables-save` prints them (so that the installed rules can be compared
/// with them line by line).
///
/// Every rule lives in chains of egress-pep's own (`EGRESS-PEP-*`), entered
/// by one jump placed first in a built-in chain, so that install, check and
/// remove touch nothing else:
///
/// - raw `PREROUTING`: a pod's packet whose source address does not route
///   back through its interface is dropped (anti-spoofing; `rpfilter`).
/// - nat `PREROUTING`: a pod's new TCP connection to a redirected port,
///   bound outside the cluster's ranges, goes to the enforcer (`REDIRECT`).
///   With a DNS port, a pod's DNS (UDP and TCP 53) goes to egress-dns
///   first, whatever its destination: the cluster's DNS is inside the
///   cluster's ranges, and it would relay names the policy refuses.
///   Only traffic arriving from pods is matched: the enforcer's own
///   upstream connections leave the node (`OUTPUT`) and never loop back.
/// - filter `FORWARD`: the rest of a pod's egress outside the cluster is
///   dropped, UDP 443 (QUIC) first, unless the operator allowed its
///   destination. Replies (connections begun from outside) pass.
public enum InterceptRules {
    public static let chainPrefix = "EGRESS-PEP-"
    public static let tables = ["raw", "nat", "filter"]

    public struct Chain: Sendable, Equatable {
        public let name: String
        /// Each rule's text after `-A NAME `.
        public var rules: [String]
    }

    /// A jump from a built-in chain into one of ours, the built-in's first rule.
    public struct Jump: Sendable, Equatable {
        public let builtin: String
        public let target: String
        public var rule: String { "-j \(target)" }
    }

    /// One table's share of the rules.
    public struct Table: Sendable, Equatable {
        public let name: String
        public var chains: [Chain] = []
        public var jumps: [Jump] = []
    }

    /// The rules of `plan` for `family`, table by table (raw, nat, filter).
    public static func tables(for plan: InterceptPlan, family: CIDR.Family) -> [Table] {
        let podCIDRs = plan.podCIDRs.filter { $0.family == family }
        let inside = (podCIDRs + plan.clusterCIDRs.filter { $0.family == family })
        // Which packets are pods': by interface, or by source range.
        let fromPods = plan.podInterfaces.map { "-i \($0)" } + podCIDRs.map { "-s \($0)" }
        let ports = plan.ports.map(String.init).joined(separator: ",")
        let entry = chainPrefix + "PREROUTING"
        let pod = chainPrefix + "POD"
        let forward = chainPrefix + "FORWARD"

        var raw = Table(name: "raw")
        if plan.antiSpoofing {
            raw.chains = [Chain(name: entry, rules: fromPods.map { "\($0) -m rpfilter --invert -j DROP" })]
            raw.jumps = [Jump(builtin: "PREROUTING", target: entry)]
        }

        let dns = plan.dnsPort.map { port in
            ["udp", "tcp"].map { "-p \($0) -m \($0) --dport 53 -j REDIRECT --to-ports \(port)" }
        } ?? []
        var nat = Table(name: "nat")
        nat.chains = [
            Chain(name: entry, rules: fromPods.map { "\($0) -g \(pod)" }),
            Chain(
                name: pod,
                rules: dns + inside.map { "-d \($0) -j RETURN" }
                    + ["-p tcp -m multiport --dports \(ports) -j REDIRECT --to-ports \(plan.enforcerPort)"]),
        ]
        nat.jumps = [Jump(builtin: "PREROUTING", target: entry)]

        let allowed = plan.allowed.filter { $0.cidr.family == family }.map { destination in
            if let (proto, number) = destination.port {
                return "-d \(destination.cidr) -p \(proto.rawValue) -m multiport --dports \(number) -j RETURN"
            }
            return "-d \(destination.cidr) -j RETURN"
        }
        var filter = Table(name: "filter")
        filter.chains = [
            Chain(name: forward, rules: fromPods.map { "\($0) -g \(pod)" }),
            Chain(
                name: pod,
                rules: ["-m conntrack --ctstate RELATED,ESTABLISHED -j RETURN"] + inside.map { "-d \($0) -j RETURN" }
                    + ["-p udp -m multiport --dports 443 -j DROP"] + allowed + ["-j DROP"]),
        ]
        filter.jumps = [Jump(builtin: "FORWARD", target: forward)]
        return [raw, nat, filter]
    }
}
