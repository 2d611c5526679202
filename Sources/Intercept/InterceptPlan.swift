/// What a node's interception rules are to do, as an operator states it:
/// which traffic comes from pods, which addresses are the cluster's, which
/// ports go to the enforcer, and what else pods may reach outside.
public struct InterceptPlan: Sendable, Equatable {
    /// Interfaces pods' traffic arrives on, as iptables matches them
    /// (`veth+`, `cali+`, `cni0`).
    public var podInterfaces: [String] = []
    /// The pod ranges: traffic from them is pods', whatever its interface.
    public var podCIDRs: [CIDR] = []
    /// Other ranges inside the cluster (services, nodes): never egress. The
    /// pod ranges are inside too.
    public var clusterCIDRs: [CIDR] = []
    /// TCP ports redirected to the enforcer.
    public var ports: [Int] = [443]
    /// The enforcer's transparent listener, on this node.
    public var enforcerPort = 15001
    /// egress-dns's listener on this node: when set, every DNS query of a
    /// pod (UDP and TCP 53, to any address, the cluster's DNS included) goes
    /// there instead.
    public var dnsPort: Int?
    /// Destinations outside the cluster that pods may reach without the
    /// enforcer (a database, a partner's range): other egress is dropped.
    public var allowed: [AllowedDestination] = []
    /// Drop pod packets whose source address does not route back through
    /// the interface they came in on (a pod claiming another's address).
    public var antiSpoofing = true
    public var families: [CIDR.Family] = CIDR.Family.allCases

    public init() {}

    /// A destination pods may reach directly: a range, and optionally one
    /// protocol and port (`CIDR`, `CIDR:tcp/5432`, `CIDR:udp/123`).
    public struct AllowedDestination: Sendable, Equatable, CustomStringConvertible {
        public enum Proto: String, Sendable { case tcp, udp }
        public var cidr: CIDR
        public var port: (proto: Proto, number: Int)?

        public init(cidr: CIDR, port: (proto: Proto, number: Int)? = nil) {
            self.cidr = cidr
            self.port = port
        }

        public init(parsing text: String) throws {
            // The port comes last, after the range (whose IPv6 form has colons).
            if let colon = text.lastIndex(of: ":"), let slash = text[colon...].firstIndex(of: "/"),
                let proto = Proto(rawValue: String(text[text.index(after: colon)..<slash]))
            {
                let number = text[text.index(after: slash)...]
                guard let port = Int(number), (1...65535).contains(port) else {
                    throw CIDR.ParseError(description: "'\(text)': the port must be 1-65535")
                }
                self.init(cidr: try CIDR(parsing: String(text[..<colon])), port: (proto, port))
            } else {
                self.init(cidr: try CIDR(parsing: text))
            }
        }

        public var description: String { port.map { "\(cidr):\($0.proto.rawValue)/\($0.number)" } ?? cidr.description }

        public static func == (a: Self, b: Self) -> Bool {
            a.cidr == b.cidr && a.port?.proto == b.port?.proto && a.port?.number == b.port?.number
        }
    }

    /// What makes the plan unusable, if anything.
    public var problem: String? {
        if podInterfaces.isEmpty && podCIDRs.isEmpty {
            return "no pod traffic to intercept: give --pod-interface or --pod-cidr"
        }
        if podCIDRs.isEmpty && clusterCIDRs.isEmpty {
            return "the cluster's ranges are unknown: give --pod-cidr or --cluster-cidr, or traffic between pods would be egress"
        }
        if ports.isEmpty { return "no port to redirect: give --port" }
        for name in podInterfaces where !Self.isInterfacePattern(name) {
            return "--pod-interface '\(name)' is not an interface name (up to 15 letters, digits, '-', '_', '.', with '+' at the end for a prefix)"
        }
        if ports.contains(where: { !(1...65535).contains($0) }) || !(1...65535).contains(enforcerPort)
            || dnsPort.map({ !(1...65535).contains($0) }) == true
        {
            return "ports must be 1-65535"
        }
        if ports.count > 15 { return "at most 15 ports can be redirected (iptables' multiport match)" }
        return nil
    }

    static func isInterfacePattern(_ name: String) -> Bool {
        let body = name.hasSuffix("+") ? name.dropLast() : Substring(name)
        return !body.isEmpty && body.count <= 15
            && body.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }
    }
}
