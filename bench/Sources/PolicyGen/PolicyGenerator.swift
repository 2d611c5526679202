import PolicyLang

/// Generates a realistic policy set of a given size, the workloads of a
/// cluster, and requests from those workloads, deterministically from a seed.
///
/// Rules mix the forms a real set has: cluster-wide hosts, per-namespace and
/// per-app rules on exact hosts and wildcards with ports, denies and dry-run
/// rules, over about one domain per ten rules, so that many rules share a
/// domain. Half of the requests ask for a host some rule names; the other half
/// for hosts nobody allows.
public struct PolicyGenerator {
    public let ruleCount: Int
    public let workloadCount: Int
    private var random: SplitMix
    /// (workload, host) pairs that some generated rule is about.
    private var targets: [(workload: Int, host: String)] = []

    public init(rules: Int, workloads: Int = 10_000, seed: UInt64 = 42) {
        self.ruleCount = rules
        self.workloadCount = workloads
        self.random = SplitMix(seed: seed)
    }

    private var domainCount: Int { max(ruleCount / 10, 1) }
    private var namespaceCount: Int { 100 }
    private var appCount: Int { 1_000 }

    /// The policy file text: one file. Each per-source rule names the
    /// namespace and app of one real workload, so that requests match.
    public mutating func policyText() -> String {
        var lines: [String] = ["# generated: \(ruleCount) rules"]
        for i in 0..<ruleCount {
            let domain = "dom\(random.next(domainCount)).com"
            let index = random.next(workloadCount)
            let w = workload(index)
            let ns = w.namespace!, app = w.labels["app"]!
            switch random.next(100) {
            case 0..<5:
                lines.append("allow * -> svc\(i).\(domain) as r\(i)")
                targets.append((index, "svc\(i).\(domain)"))
            case 5..<45:
                let host = "api\(random.next(20)).\(domain)"
                lines.append("allow ns:\(ns), app=\(app) -> \(host):443 as r\(i)")
                targets.append((index, host))
            case 45..<70:
                lines.append("allow ns:\(ns), app=\(app) -> *.\(domain) as r\(i)")
                targets.append((index, "www.\(domain)"))
            case 70..<85:
                lines.append("allow ns:\(ns), tier in (web, api) -> *.cdn\(random.next(domainCount)).net:443, host\(i).\(domain) as r\(i)")
                targets.append((index, "host\(i).\(domain)"))
            case 85..<95:
                lines.append("deny  ns:\(ns) -> *.prod.\(domain) as r\(i)")
                targets.append((index, "db.prod.\(domain)"))
            default:
                lines.append("deny  ns:\(ns), app=\(app) -> *.\(domain) as r\(i) dry-run")
                targets.append((index, "x.\(domain)"))
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    public func workload(_ i: Int) -> SourceIdentity {
        SourceIdentity(
            namespace: "ns-\(i % namespaceCount)", serviceAccount: "sa-\(i % 500)", pod: "app-\(i % appCount)-\(i)",
            labels: ["app": "app-\(i % appCount)", "tier": ["web", "api", "batch"][i % 3]])
    }

    /// The address of workload `i`, in 198.18.0.0/15 (up to 65,536 workloads).
    public func workloadIP(_ i: Int) -> String {
        "198.\(18 + i / 32_768).\(i / 128 % 256).\(i % 128 + 1)"
    }

    public struct Request: Sendable {
        public let workload: Int
        public let source: SourceIdentity
        public let host: String
        public let port: Int
    }

    /// Half of the requests are about a host some rule names, from the
    /// workload that rule is about (call `policyText()` first).
    public mutating func requests(_ count: Int) -> [Request] {
        (0..<count).map { _ in
            if !targets.isEmpty, random.next(2) == 0 {
                let target = targets[random.next(targets.count)]
                return Request(workload: target.workload, source: workload(target.workload), host: target.host, port: 443)
            }
            let index = random.next(workloadCount)
            let source = workload(index)
            let domain = "dom\(random.next(domainCount)).com"
            let host: String
            switch random.next(6) {
            case 0: host = "api\(random.next(20)).\(domain)"
            case 1: host = "www.\(domain)"
            case 2: host = "x.prod.\(domain)"
            case 3: host = "img.cdn\(random.next(domainCount)).net"
            default: host = "nobody-allows-\(random.next(1000)).example.org"
            }
            return Request(workload: index, source: source, host: host, port: random.next(10) == 0 ? 8443 : 443)
        }
    }
}

/// SplitMix64: a small, fast, seeded generator so runs are repeatable.
struct SplitMix {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next(_ bound: Int) -> Int {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return Int((z ^ (z >> 31)) % UInt64(bound))
    }
}
