import ArgumentParser
import DNSEnforcer
import DNSMessage
import DaemonOptions
import EnforcerCore
import Foundation
import Logging
import NIOCore

/// `egress-dns`: the DNS enforcer.
@main
struct EgressDNS: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "egress-dns",
        abstract: "The DNS enforcer: names a workload may not reach do not resolve for it.",
        discussion: """
            Every option can also be set with the environment variable named in its help;
            a command-line option wins over the variable.

            egress-dns answers workloads' queries on UDP and TCP (--listen): as their
            resolver (a pod's dnsConfig), or behind an iptables REDIRECT of their port 53.
            For each query it asks the decision service whether the query's source address
            may reach the name on some port. On allow it forwards the query to --upstream
            (the cluster's DNS; repeat for failover) and returns the answer, CNAME chains
            whole, HTTPS and SVCB records without their ech parameter. On deny it answers
            NXDOMAIN (or REFUSED, --refuse-with) with an Extended DNS Error (RFC 8914,
            Blocked) naming the reason; the query never reaches the upstream, so names
            under a domain nobody may reach cannot carry data out. Names in
            --internal-zone (and the '<service>.<namespace>.svc' form) are forwarded
            undecided. docs/dns.md has the deployment and every option.

            Fails closed: with the decision service unreachable, queries get SERVFAIL
            (unless --stale-max-age allows recently expired verdicts).
            """)

    @Option(help: "UDP and TCP listener, HOST:PORT (env EGRESS_DNS_LISTEN; default 0.0.0.0:15053).")
    var listen: String?

    @Option(help: "An upstream resolver, IP:PORT (port 53 when left out); repeat for failover, in order of preference (env EGRESS_DNS_UPSTREAMS, comma-separated; required).")
    var upstream: [String] = []

    @Option(help: "A zone of the cluster's own whose names are forwarded undecided; repeat for more (env EGRESS_DNS_INTERNAL_ZONES, comma-separated; default cluster.local). Names ending in '.svc', the search-path form, are too.")
    var internalZone: [String] = []

    @Option(help: "How a name the workload may not reach is answered: nxdomain or refused (env EGRESS_DNS_REFUSE_WITH; default nxdomain).")
    var refuseWith: String?

    @Option(help: "Query types refused whatever the name, such as ANY or TYPE65280, comma-separated; 'none' refuses none (env EGRESS_DNS_REFUSE_TYPES; default ANY).")
    var refuseTypes: String?

    @Flag(help: "Pass HTTPS and SVCB answers on with their ech parameter; by default it is taken out, so that the SNI stays visible to egress-pep (env EGRESS_DNS_KEEP_ECH=1).")
    var keepEch = false

    @Option(help: "Admin listener for /metrics, /healthz and /readyz, HOST:PORT (env EGRESS_DNS_ADMIN_LISTEN; default 127.0.0.1:15054).")
    var adminListen: String?

    @Option(help: "The decision service: h2c://HOST:PORT, h2://HOST:PORT (TLS) or unix:///PATH (env EGRESS_DNS_PDP; default h2c://127.0.0.1:15010).")
    var pdp: String?

    @Option(help: "File holding a bearer token of role pep, reread when it changes (env EGRESS_DNS_PDP_TOKEN_FILE; not needed on a Unix socket or with a client certificate).")
    var pdpTokenFile: String?

    @Option(help: "For h2://: CA bundle that the decision service's certificate chains to, PEM (env EGRESS_DNS_PDP_CA).")
    var pdpCa: String?

    @Option(help: "For h2://: this enforcer's client certificate, PEM (env EGRESS_DNS_PDP_CERT).")
    var pdpCert: String?

    @Option(help: "For h2://: the client certificate's private key, PEM (env EGRESS_DNS_PDP_KEY).")
    var pdpKey: String?

    @Option(help: "Verdicts cached at most (env EGRESS_DNS_CACHE_SIZE; default 100000).")
    var cacheSize: Int?

    @Option(help: "Seconds past its TTL a verdict may still be used while the decision service cannot be asked; 0 fails closed at once (env EGRESS_DNS_STALE_MAX_AGE; default 0).")
    var staleMaxAge: Int?

    @Option(help: "Milliseconds one upstream has to answer before the next is tried (env EGRESS_DNS_UPSTREAM_TIMEOUT_MS; default 2000).")
    var upstreamTimeoutMs: Int?

    @Option(help: "Seconds a query may wait for its verdict; then SERVFAIL. Each upstream has --upstream-timeout-ms on top (env EGRESS_DNS_QUERY_TIMEOUT; default 5).")
    var queryTimeout: Int?

    @Option(help: "UDP queries waiting at once per event loop; more are dropped (env EGRESS_DNS_MAX_INFLIGHT; default 10000).")
    var maxInflight: Int?

    @Option(help: "UDP queries one workload address may have waiting at once per event loop; more are dropped (env EGRESS_DNS_MAX_INFLIGHT_PER_SOURCE; default 500).")
    var maxInflightPerSource: Int?

    @Option(help: "Workload TCP connections open at once; more are closed (env EGRESS_DNS_MAX_TCP_CONNECTIONS; default 1000).")
    var maxTcpConnections: Int?

    @Option(help: "TCP connections one workload address may hold at once (env EGRESS_DNS_MAX_TCP_CONNECTIONS_PER_SOURCE; default 50).")
    var maxTcpConnectionsPerSource: Int?

    @Option(help: "Seconds a TCP connection may go without a query before it is closed (env EGRESS_DNS_TCP_IDLE_TIMEOUT; default 10).")
    var tcpIdleTimeout: Int?

    @Option(help: "Seconds over which allowed queries are counted, per source, name and type, into one access record (env EGRESS_DNS_COUNT_INTERVAL; default 60).")
    var countInterval: Int?

    @Option(help: "Access records held for reporting at most; past it they are dropped and counted (env EGRESS_DNS_REPORT_BUFFER; default 100000).")
    var reportBuffer: Int?

    @Option(help: "Event loop threads (env EGRESS_DNS_THREADS; default the number of cores).")
    var threads: Int?

    @Option(help: "trace, debug, info, notice, warning, error or critical (env EGRESS_DNS_LOG_LEVEL; default info).")
    var logLevel: String?

    func run() async throws {
        let configuration: DNSConfiguration
        let level: Logger.Level
        do {
            configuration = try makeConfiguration()
            level = try EnforcerLogging.level(logLevel, "EGRESS_DNS_LOG_LEVEL", options: OptionReader(prefix: "EGRESS_DNS_"))
        } catch let error as OptionReader.Invalid {
            FileHandle.standardError.write(Data("egress-dns: \(error.description)\n".utf8))
            throw ExitCode(64)
        }
        let logger = EnforcerLogging.start("egress-dns", level: level, connection: configuration.pdp)
        try await DNSService(configuration: configuration, logger: logger).run()
    }

    private func makeConfiguration() throws -> DNSConfiguration {
        let options = OptionReader(prefix: "EGRESS_DNS_")
        var c = DNSConfiguration()
        c.listen = try options.socketAddress(options.value(listen, "EGRESS_DNS_LISTEN") ?? "0.0.0.0:15053", flag: "--listen")
        let upstreams = options.list(upstream, "EGRESS_DNS_UPSTREAMS")
        guard !upstreams.isEmpty else {
            throw OptionReader.Invalid("--upstream is required: the resolver allowed queries go to, such as the cluster DNS's 10.96.0.10")
        }
        c.upstreams = try upstreams.map { try options.socketAddress($0, flag: "--upstream", defaultPort: 53) }
        guard Set(c.upstreams.map(\.protocol)).count == 1 else {
            throw OptionReader.Invalid("--upstream: give IPv4 or IPv6 upstreams, not both")
        }
        let zones = options.list(internalZone, "EGRESS_DNS_INTERNAL_ZONES")
        if !zones.isEmpty {
            c.internalZones = try zones.map { text in
                guard let zone = DNSName(text), !zone.labels.isEmpty else {
                    throw OptionReader.Invalid("--internal-zone '\(text)' is not a domain name")
                }
                return zone
            }
        }
        let refusal = options.value(refuseWith, "EGRESS_DNS_REFUSE_WITH") ?? "nxdomain"
        guard let parsed = DNSConfiguration.Refusal(rawValue: refusal.lowercased()) else {
            throw OptionReader.Invalid("--refuse-with must be nxdomain or refused, not '\(refusal)'")
        }
        c.refusal = parsed
        let types = options.value(refuseTypes, "EGRESS_DNS_REFUSE_TYPES") ?? "ANY"
        c.refusedTypes = []
        if types.lowercased() != "none" {
            for name in types.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !name.isEmpty {
                guard let type = RecordType.type(named: name) else {
                    throw OptionReader.Invalid("--refuse-types: '\(name)' is not a record type (such as ANY, TXT or TYPE65280)")
                }
                c.refusedTypes.insert(type)
            }
        }
        c.stripECH = !options.flag(keepEch, "EGRESS_DNS_KEEP_ECH")
        let admin = try options.socketAddress(options.value(adminListen, "EGRESS_DNS_ADMIN_LISTEN") ?? "127.0.0.1:15054", flag: "--admin-listen")
        guard let adminIP = admin.ipAddress, let adminPort = admin.port else { throw OptionReader.Invalid("--admin-listen needs IP:PORT") }
        (c.adminHost, c.adminPort) = (adminIP, adminPort)
        c.pdp = try DecisionServiceConnection.read(
            pdp: pdp, tokenFile: pdpTokenFile, ca: pdpCa, certificate: pdpCert, key: pdpKey, options: options, prefix: "EGRESS_DNS_")
        try readLimits(into: &c, options)
        return c
    }

    private func readLimits(into c: inout DNSConfiguration, _ options: OptionReader) throws {
        let most = OptionReader.largestNumber
        c.cacheSize = try options.number(cacheSize, "EGRESS_DNS_CACHE_SIZE", default: 100_000, in: 1...most)
        c.staleMaxAge = .seconds(Int64(try options.number(staleMaxAge, "EGRESS_DNS_STALE_MAX_AGE", default: 0, in: 0...most)))
        c.upstreamTimeout = .milliseconds(Int64(try options.number(upstreamTimeoutMs, "EGRESS_DNS_UPSTREAM_TIMEOUT_MS", default: 2000, in: 10...60_000)))
        c.queryTimeout = .seconds(Int64(try options.number(queryTimeout, "EGRESS_DNS_QUERY_TIMEOUT", default: 5, in: 1...300)))
        c.maxInflight = try options.number(maxInflight, "EGRESS_DNS_MAX_INFLIGHT", default: 10_000, in: 1...60_000)
        c.maxInflightPerSource = min(
            c.maxInflight, try options.number(maxInflightPerSource, "EGRESS_DNS_MAX_INFLIGHT_PER_SOURCE", default: 500, in: 1...60_000))
        c.maxTCPConnections = try options.number(maxTcpConnections, "EGRESS_DNS_MAX_TCP_CONNECTIONS", default: 1000, in: 1...most)
        c.maxTCPConnectionsPerSource = min(
            c.maxTCPConnections,
            try options.number(maxTcpConnectionsPerSource, "EGRESS_DNS_MAX_TCP_CONNECTIONS_PER_SOURCE", default: 50, in: 1...most))
        c.tcpIdleTimeout = .seconds(Int64(try options.number(tcpIdleTimeout, "EGRESS_DNS_TCP_IDLE_TIMEOUT", default: 10, in: 1...3600)))
        c.countInterval = .seconds(Int64(try options.number(countInterval, "EGRESS_DNS_COUNT_INTERVAL", default: 60, in: 1...86_400)))
        c.reportBuffer = try options.number(reportBuffer, "EGRESS_DNS_REPORT_BUFFER", default: 100_000, in: 1...most)
        c.eventLoopThreads = try options.optionalNumber(threads, "EGRESS_DNS_THREADS", in: 1...1024)
    }
}
