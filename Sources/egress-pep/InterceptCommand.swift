import ArgumentParser
import DaemonOptions
import Foundation
import Intercept

/// `egress-pep intercept`: the node's interception rules.
struct InterceptCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "intercept",
        abstract: "Install, check or remove the node's interception rules (iptables, IPv4 and IPv6).",
        discussion: """
            For egress-pep as a node agent (a DaemonSet with host networking and NET_ADMIN). The rules live in chains of their own (EGRESS-PEP-*), entered by one jump at the top of raw PREROUTING, nat PREROUTING and filter FORWARD; nothing else is touched.

            From pods (--pod-interface, --pod-cidr) to outside the cluster (--pod-cidr, --cluster-cidr):
              - TCP to --port (443) is redirected to the enforcer (--to-port, 15001);
              - with --dns-to-port, DNS (UDP and TCP 53, to any address) is redirected to egress-dns;
              - UDP 443 (QUIC) is dropped, so clients fall back to TCP;
              - everything else is dropped unless --allow lists its destination;
              - a packet whose source address is not its interface's is dropped.

            The rules stay when the enforcer stops: connections are then refused (fail closed). Each option can also be set by the environment variable named in its help. docs/kubernetes.md has the threat model these rules answer.
            """,
        subcommands: [Install.self, Check.self, Keep.self, Remove.self])

    struct Install: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make the installed rules those of the options; changes nothing when they already are.")
        @OptionGroup var options: InterceptOptions

        func run() throws {
            let reports = try options.run { try Interceptor(plan: $0).install() }
            let changed = reports.filter { !$0.differences.isEmpty }
            if changed.isEmpty {
                print("egress-pep intercept: the rules were already installed; nothing changed")
            } else {
                print("egress-pep intercept: installed (\(changed.map { "\($0.family.rawValue) \($0.table)" }.joined(separator: ", ")))")
            }
        }
    }

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Exit 0 when the installed rules are those of the options; otherwise say what differs and exit 1 (a liveness probe).")
        @OptionGroup var options: InterceptOptions

        func run() throws {
            let reports = try options.run { try Interceptor(plan: $0).check() }
            let problems = reports.flatMap(\.lines)
            guard problems.isEmpty else {
                for problem in problems { FileHandle.standardError.write(Data("egress-pep intercept: \(problem)\n".utf8)) }
                throw ExitCode(1)
            }
            print("egress-pep intercept: the rules are installed as expected")
        }
    }

    struct Keep: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Install the rules, then check them every --interval seconds and put them back when anything changed them.",
            discussion: """
                For the DaemonSet's rules container: another agent on the node (or a person)
                that flushes or edits the chains is undone within --interval, and each time
                is logged with what differed. Stopping it leaves the rules in place.
                """)
        @OptionGroup var options: InterceptOptions
        @Option(help: "Seconds between checks (env EGRESS_PEP_INTERCEPT_INTERVAL; default 10).")
        var interval: Int?

        func run() throws {
            let seconds = try InterceptOptions.usage {
                try OptionReader(prefix: "EGRESS_PEP_INTERCEPT_").number(interval, "EGRESS_PEP_INTERCEPT_INTERVAL", default: 10, in: 1...86_400)
            }
            let interceptor = Interceptor(plan: try options.run { $0 })
            var first = true
            while true {
                do {
                    let differed = try interceptor.install().flatMap(\.lines)
                    if first {
                        Self.log(differed.isEmpty ? "the rules were already installed" : "installed")
                    } else if !differed.isEmpty {
                        Self.log("the rules had been changed; put back:\n  " + differed.joined(separator: "\n  "))
                    }
                    first = false
                } catch let error as Iptables.Failure {
                    Self.log("could not check or install the rules: \(error.description)")
                }
                Thread.sleep(forTimeInterval: Double(seconds))
            }
        }

        static func log(_ message: String) {
            FileHandle.standardError.write(Data("egress-pep intercept keep: \(message)\n".utf8))
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove every EGRESS-PEP chain and the jumps into them, whatever options made them.")
        @Flag(help: "IPv4 only (for a node without ip6tables).")
        var ipv4Only = false

        func run() throws {
            let reports = try InterceptOptions.failing { try Interceptor.remove(families: ipv4Only ? [.ipv4] : CIDR.Family.allCases) }
            let removed = reports.flatMap(\.lines)
            print(removed.isEmpty ? "egress-pep intercept: nothing to remove" : "egress-pep intercept: removed\n  " + removed.joined(separator: "\n  "))
        }
    }
}

/// The plan's options, shared by install and check; each can also be set
/// with its environment variable (a DaemonSet's init container and its
/// liveness probe then share one list).
struct InterceptOptions: ParsableArguments {
    @Option(help: "An interface pods' traffic arrives on, iptables' form ('veth+', 'cali+', 'cni0'); repeat for more (env EGRESS_PEP_INTERCEPT_POD_INTERFACES, comma-separated).")
    var podInterface: [String] = []

    @Option(help: "A pod range (CIDR): its traffic is pods', and it is inside the cluster; repeat for more (env EGRESS_PEP_INTERCEPT_POD_CIDRS).")
    var podCidr: [String] = []

    @Option(help: "Another range inside the cluster (services, nodes): never egress; repeat for more (env EGRESS_PEP_INTERCEPT_CLUSTER_CIDRS).")
    var clusterCidr: [String] = []

    @Option(help: "A TCP port redirected to the enforcer; repeat for more, at most 15 (env EGRESS_PEP_INTERCEPT_PORTS; default 443).")
    var port: [Int] = []

    @Option(help: "The enforcer's transparent listener port on this node (env EGRESS_PEP_INTERCEPT_TO_PORT; default 15001).")
    var toPort: Int?

    @Option(help: "egress-dns's listener port on this node: every DNS query of a pod (UDP and TCP 53, the cluster DNS's included) is redirected there (env EGRESS_PEP_INTERCEPT_DNS_TO_PORT; default none).")
    var dnsToPort: Int?

    @Option(help: "A destination outside the cluster pods may reach without the enforcer: CIDR, or CIDR:tcp/PORT or CIDR:udp/PORT; repeat for more (env EGRESS_PEP_INTERCEPT_ALLOW).")
    var allow: [String] = []

    @Flag(help: "Do not drop pod packets whose source address is not their interface's (env EGRESS_PEP_INTERCEPT_NO_ANTI_SPOOFING=1).")
    var noAntiSpoofing = false

    @Flag(help: "IPv4 rules only, for a node without ip6tables (env EGRESS_PEP_INTERCEPT_IPV4_ONLY=1).")
    var ipv4Only = false

    func plan() throws -> InterceptPlan {
        let options = OptionReader(prefix: "EGRESS_PEP_INTERCEPT_")
        var plan = InterceptPlan()
        plan.podInterfaces = options.list(podInterface, "EGRESS_PEP_INTERCEPT_POD_INTERFACES")
        plan.podCIDRs = try options.list(podCidr, "EGRESS_PEP_INTERCEPT_POD_CIDRS").map { try Self.cidr($0, "--pod-cidr") }
        plan.clusterCIDRs = try options.list(clusterCidr, "EGRESS_PEP_INTERCEPT_CLUSTER_CIDRS").map { try Self.cidr($0, "--cluster-cidr") }
        let ports = options.list(port.map(String.init), "EGRESS_PEP_INTERCEPT_PORTS")
        if !ports.isEmpty {
            plan.ports = try ports.map { text in
                guard let number = Int(text) else { throw OptionReader.Invalid("--port '\(text)' is not a number") }
                return number
            }
        }
        plan.enforcerPort = try options.number(toPort, "EGRESS_PEP_INTERCEPT_TO_PORT", default: 15001, in: 1...65535)
        plan.dnsPort = try options.optionalNumber(dnsToPort, "EGRESS_PEP_INTERCEPT_DNS_TO_PORT", in: 1...65535)
        plan.allowed = try options.list(allow, "EGRESS_PEP_INTERCEPT_ALLOW").map { text in
            do { return try InterceptPlan.AllowedDestination(parsing: text) } catch let error as CIDR.ParseError {
                throw OptionReader.Invalid("--allow: \(error.description)")
            }
        }
        plan.antiSpoofing = !options.flag(noAntiSpoofing, "EGRESS_PEP_INTERCEPT_NO_ANTI_SPOOFING")
        if options.flag(ipv4Only, "EGRESS_PEP_INTERCEPT_IPV4_ONLY") { plan.families = [.ipv4] }
        if let problem = plan.problem { throw OptionReader.Invalid(problem) }
        return plan
    }

    static func cidr(_ text: String, _ option: String) throws -> CIDR {
        do { return try CIDR(parsing: text) } catch let error as CIDR.ParseError {
            throw OptionReader.Invalid("\(option): \(error.description)")
        }
    }

    /// Runs `body` with the plan; a bad option exits 64 and a failed
    /// iptables command 1, each with its message.
    func run<T>(_ body: (InterceptPlan) throws -> T) throws -> T {
        let plan = try Self.usage { try self.plan() }
        return try Self.failing { try body(plan) }
    }

    /// A bad option exits 64 with its message.
    static func usage<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as OptionReader.Invalid {
            FileHandle.standardError.write(Data("egress-pep intercept: \(error.description)\n".utf8))
            throw ExitCode(64)
        }
    }

    static func failing<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as Iptables.Failure {
            FileHandle.standardError.write(Data("egress-pep intercept: \(error.description)\n".utf8))
            throw ExitCode(1)
        }
    }
}
