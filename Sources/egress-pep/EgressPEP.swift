import EnforcerCore
import ArgumentParser
import DaemonOptions
import Foundation
import Logging
import NIOCore
import PEP

/// `egress-pep`: the egress enforcer.
@main
struct EgressPEP: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "egress-pep",
        abstract: "The egress enforcer: a transparent TLS (SNI) proxy that asks egress-pdp.",
        subcommands: [Serve.self, InterceptCommand.self],
        defaultSubcommand: Serve.self)
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Enforce the decision service's verdicts on workload connections.",
        discussion: """
            Every option can also be set with the environment variable named in its help;
            a command-line option wins over the variable.

            Transparent mode: iptables REDIRECTs workloads' outgoing TCP (port 443) to
            --listen. For each connection egress-pep reads the TLS ClientHello, asks the
            decision service about (source address, SNI, original port), and on allow
            resolves the SNI itself and connects there, never to the address the workload
            chose. With --tproxy, iptables' TPROXY target delivers the connections instead,
            unchanged (no NAT). Explicit mode: workloads with HTTPS_PROXY use --connect-listen.
            docs/pep.md has the iptables rules and what each refusal reason means.

            Fails closed: with the decision service unreachable, connections are refused
            (unless --stale-max-age allows recently expired verdicts).

            SIGTERM or SIGINT: stop accepting, let open connections finish for up to
            --shutdown-grace seconds, report every connection, exit 0.
            """)

    @Option(help: "Transparent listener (the REDIRECT target), HOST:PORT or 'none' (env EGRESS_PEP_LISTEN; default 0.0.0.0:15001).")
    var listen: String?

    @Flag(help: "The transparent listener takes connections from iptables' TPROXY target instead of REDIRECT: it is made IP_TRANSPARENT (needs CAP_NET_ADMIN or CAP_NET_RAW) and a connection's destination is its own local address (env EGRESS_PEP_TPROXY=1).")
    var tproxy = false

    @Option(help: "Explicit HTTP CONNECT proxy listener, HOST:PORT or 'none' (env EGRESS_PEP_CONNECT_LISTEN; default none).")
    var connectListen: String?

    @Option(help: "Plain HTTP listener, HOST:PORT or 'none': the target of a REDIRECT of workloads' TCP 80; each request's Host is decided as an SNI would be and, on allow, carried out as verified TLS (env EGRESS_PEP_HTTP_LISTEN; default none).")
    var httpListen: String?

    @Option(help: "For plain HTTP: a workload port and the TLS port it is carried to, PORT=TLSPORT; repeat for more (env EGRESS_PEP_HTTP_PORT_MAP, comma-separated; default 80=443).")
    var httpPortMap: [String] = []

    @Option(help: "For plain HTTP: a CA bundle (PEM) that upstream certificates may chain to besides the system's trust store (env EGRESS_PEP_UPSTREAM_CA).")
    var upstreamCa: String?

    @Flag(help: "Keep query strings in the paths of plain-HTTP requests' access records; by default they are dropped, as they often carry secrets (env EGRESS_PEP_LOG_QUERY=1).")
    var logQuery = false

    @Option(help: "Admin listener for /metrics, /healthz and /readyz, HOST:PORT (env EGRESS_PEP_ADMIN_LISTEN; default 127.0.0.1:15003).")
    var adminListen: String?

    @Option(help: "The decision service: h2c://HOST:PORT, h2://HOST:PORT (TLS) or unix:///PATH (env EGRESS_PEP_PDP; default h2c://127.0.0.1:15010).")
    var pdp: String?

    @Option(help: "File holding a bearer token of role pep, reread when it changes (env EGRESS_PEP_PDP_TOKEN_FILE; not needed on a Unix socket or with a client certificate).")
    var pdpTokenFile: String?

    @Option(help: "For h2://: CA bundle that the decision service's certificate chains to, PEM (env EGRESS_PEP_PDP_CA).")
    var pdpCa: String?

    @Option(help: "For h2://: this enforcer's client certificate, PEM (env EGRESS_PEP_PDP_CERT).")
    var pdpCert: String?

    @Option(help: "For h2://: the client certificate's private key, PEM (env EGRESS_PEP_PDP_KEY).")
    var pdpKey: String?

    @Option(
        name: .customLong("internal-cidr"),
        help: "An internal range no upstream may be in, such as the pod or service range; repeat for more (env EGRESS_PEP_INTERNAL_CIDRS, comma-separated). Added to loopback, link-local, RFC 1918, IPv6 unique local and the host's own addresses.")
    var internalCidrs: [String] = []

    @Option(
        name: .customLong("nat64-prefix"),
        help: "A NAT64 prefix (/96) of this network besides the well-known 64:ff9b::/96; every internal IPv4 range is internal in its form too (repeat for more; env EGRESS_PEP_NAT64_PREFIXES, comma-separated).")
    var nat64Prefixes: [String] = []

    @Flag(help: "Do not refuse upstreams in link-local and private ranges by default (env EGRESS_PEP_NO_DEFAULT_INTERNAL=1). Loopback, unspecified, the host's own addresses and --internal-cidr stay refused.")
    var noDefaultInternal = false

    @Flag(help: "Refuse every ClientHello with an encrypted_client_hello extension, including browsers' decoys (env EGRESS_PEP_REFUSE_ECH=1).")
    var refuseEch = false

    @Option(help: "Verdicts cached at most (env EGRESS_PEP_CACHE_SIZE; default 100000).")
    var cacheSize: Int?

    @Option(help: "Seconds past its TTL a verdict may still be used while the decision service cannot be asked (unreachable, silent, a gateway 502 or 504; never after a refusal such as 401 or 503); 0 fails closed at once (env EGRESS_PEP_STALE_MAX_AGE; default 0).")
    var staleMaxAge: Int?

    @Option(help: "Seconds a workload has to send its complete ClientHello (env EGRESS_PEP_HELLO_TIMEOUT; default 10).")
    var helloTimeout: Int?

    @Option(help: "Seconds for an upstream address to accept the connection and take the ClientHello; then the next address is tried (env EGRESS_PEP_CONNECT_TIMEOUT; default 5).")
    var connectTimeout: Int?

    @Option(help: "Seconds a name's resolved addresses are reused; 0 resolves for every connection (env EGRESS_PEP_DNS_CACHE_TTL; default 10).")
    var dnsCacheTtl: Int?

    @Option(help: "Seconds to wait for the resolver before refusing the connection as unresolvable (env EGRESS_PEP_DNS_TIMEOUT; default 5).")
    var dnsTimeout: Int?

    @Option(help: "Seconds a spliced connection may carry nothing either way before it is closed (env EGRESS_PEP_IDLE_TIMEOUT; default 300).")
    var idleTimeout: Int?

    @Option(help: "Workload connections open at once, at most; more are refused (env EGRESS_PEP_MAX_CONNECTIONS; default 10000).")
    var maxConnections: Int?

    @Option(help: "Connections one workload address may hold at once; more from it are refused (env EGRESS_PEP_MAX_CONNECTIONS_PER_SOURCE; default 1000, at most --max-connections).")
    var maxConnectionsPerSource: Int?

    @Option(help: "Seconds open connections may finish after SIGTERM (env EGRESS_PEP_SHUTDOWN_GRACE; default 30).")
    var shutdownGrace: Int?

    @Option(help: "Connection records held for reporting at most; past it they are dropped and counted (env EGRESS_PEP_REPORT_BUFFER; default 100000).")
    var reportBuffer: Int?

    @Option(help: "Event loop threads (env EGRESS_PEP_THREADS; default the number of cores, or with --pin-event-loops one per CPU the process may use).")
    var threads: Int?

    @Flag(help: "Pin each event loop thread to a CPU of those the process may use, one loop per CPU unless --threads says otherwise (env EGRESS_PEP_PIN_EVENT_LOOPS=1; Linux). Lower latency per connection on a gateway with cores of its own; leave it off beside busy workloads.")
    var pinEventLoops = false

    @Option(help: "trace, debug, info, notice, warning, error or critical (env EGRESS_PEP_LOG_LEVEL; default info).")
    var logLevel: String?

    func run() async throws {
        let configuration: PEPConfiguration
        let level: Logger.Level
        do {
            configuration = try makeConfiguration()
            level = try EnforcerLogging.level(logLevel, "EGRESS_PEP_LOG_LEVEL", options: OptionReader(prefix: "EGRESS_PEP_"))
        } catch let error as OptionReader.Invalid {
            FileHandle.standardError.write(Data("egress-pep: \(error.description)\n".utf8))
            throw ExitCode(64)
        }
        let logger = EnforcerLogging.start("egress-pep", level: level, connection: configuration.pdp)
        try await PEPService(configuration: configuration, logger: logger).run()
    }

    /// Everything but the log level, from the options and their variables.
    private func makeConfiguration() throws -> PEPConfiguration {
        let options = OptionReader(prefix: "EGRESS_PEP_")

        var c = PEPConfiguration()
        c.transparent = try options.socketAddressOrNone(options.value(listen, "EGRESS_PEP_LISTEN") ?? "0.0.0.0:15001", flag: "--listen")
        c.connect = try options.socketAddressOrNone(options.value(connectListen, "EGRESS_PEP_CONNECT_LISTEN") ?? "none", flag: "--connect-listen")
        c.http = try options.socketAddressOrNone(options.value(httpListen, "EGRESS_PEP_HTTP_LISTEN") ?? "none", flag: "--http-listen")
        guard c.transparent != nil || c.connect != nil || c.http != nil else {
            throw OptionReader.Invalid("--listen, --connect-listen and --http-listen are all 'none': there is nothing to enforce")
        }
        try readOrigination(into: &c, options)
        guard let admin = try options.socketAddressOrNone(options.value(adminListen, "EGRESS_PEP_ADMIN_LISTEN") ?? "127.0.0.1:15003", flag: "--admin-listen"),
            let adminIP = admin.ipAddress, let adminPort = admin.port
        else { throw OptionReader.Invalid("--admin-listen cannot be 'none'") }
        (c.adminHost, c.adminPort) = (adminIP, adminPort)
        c.pdp = try DecisionServiceConnection.read(
            pdp: pdp, tokenFile: pdpTokenFile, ca: pdpCa, certificate: pdpCert, key: pdpKey, options: options, prefix: "EGRESS_PEP_")
        let cidrs = options.list(internalCidrs, "EGRESS_PEP_INTERNAL_CIDRS")
        c.internalRanges =
            options.flag(noDefaultInternal, "EGRESS_PEP_NO_DEFAULT_INTERNAL") ? AddressRange.alwaysInternal : AddressRange.defaultInternal
        for text in cidrs {
            do { c.internalRanges.append(try AddressRange(parsing: text)) } catch let error as AddressRange.ParseError {
                throw OptionReader.Invalid("--internal-cidr: \(error.description)")
            }
        }
        for text in options.list(nat64Prefixes, "EGRESS_PEP_NAT64_PREFIXES") {
            do { c.nat64Prefixes.append(try AddressRange(nat64Prefix: text)) } catch let error as AddressRange.ParseError {
                throw OptionReader.Invalid("--nat64-prefix: \(error.description)")
            }
        }
        c.tproxy = options.flag(tproxy, "EGRESS_PEP_TPROXY")
        if c.tproxy && c.transparent == nil { throw OptionReader.Invalid("--tproxy needs a transparent --listen") }
        c.refuseECH = options.flag(refuseEch, "EGRESS_PEP_REFUSE_ECH")
        try readLimits(into: &c, options)
        return c
    }

    /// Plain HTTP's port map, CA bundle and query logging.
    private func readOrigination(into c: inout PEPConfiguration, _ options: OptionReader) throws {
        let pairs = options.list(httpPortMap, "EGRESS_PEP_HTTP_PORT_MAP")
        if !pairs.isEmpty {
            c.httpPortMap = [:]
            for pair in pairs {
                let parts = pair.split(separator: "=")
                guard parts.count == 2, let from = Int(parts[0]), let to = Int(parts[1]), (1...65535).contains(from), (1...65535).contains(to) else {
                    throw OptionReader.Invalid("--http-port-map '\(pair)' needs PORT=TLSPORT, such as 80=443")
                }
                c.httpPortMap[from] = to
            }
        }
        if let file = options.value(upstreamCa, "EGRESS_PEP_UPSTREAM_CA") {
            guard FileManager.default.isReadableFile(atPath: file) else { throw OptionReader.Invalid("--upstream-ca: cannot read \(file)") }
            c.upstreamCA = file
        }
        c.logQuery = options.flag(logQuery, "EGRESS_PEP_LOG_QUERY")
    }

    /// The caps, timeouts and sizes, each range-checked.
    private func readLimits(into c: inout PEPConfiguration, _ options: OptionReader) throws {
        c.cacheSize = try options.number(cacheSize, "EGRESS_PEP_CACHE_SIZE", default: 100_000, in: 1...OptionReader.largestNumber)
        c.staleMaxAge = .seconds(Int64(try options.number(staleMaxAge, "EGRESS_PEP_STALE_MAX_AGE", default: 0, in: 0...OptionReader.largestNumber)))
        c.helloTimeout = .seconds(Int64(try options.number(helloTimeout, "EGRESS_PEP_HELLO_TIMEOUT", default: 10, in: 1...OptionReader.largestNumber)))
        c.connectTimeout = .seconds(Int64(try options.number(connectTimeout, "EGRESS_PEP_CONNECT_TIMEOUT", default: 5, in: 1...OptionReader.largestNumber)))
        c.dnsCacheTTL = .seconds(Int64(try options.number(dnsCacheTtl, "EGRESS_PEP_DNS_CACHE_TTL", default: 10, in: 0...OptionReader.largestNumber)))
        c.dnsTimeout = .seconds(Int64(try options.number(dnsTimeout, "EGRESS_PEP_DNS_TIMEOUT", default: 5, in: 1...OptionReader.largestNumber)))
        c.idleTimeout = .seconds(Int64(try options.number(idleTimeout, "EGRESS_PEP_IDLE_TIMEOUT", default: 300, in: 1...OptionReader.largestNumber)))
        c.maxConnections = try options.number(maxConnections, "EGRESS_PEP_MAX_CONNECTIONS", default: 10_000, in: 1...OptionReader.largestNumber)
        c.maxConnectionsPerSource = min(
            c.maxConnections,
            try options.number(maxConnectionsPerSource, "EGRESS_PEP_MAX_CONNECTIONS_PER_SOURCE", default: 1000, in: 1...OptionReader.largestNumber))
        c.shutdownGrace = .seconds(Int64(try options.number(shutdownGrace, "EGRESS_PEP_SHUTDOWN_GRACE", default: 30, in: 0...OptionReader.largestNumber)))
        c.reportBuffer = try options.number(reportBuffer, "EGRESS_PEP_REPORT_BUFFER", default: 100_000, in: 1...OptionReader.largestNumber)
        c.eventLoopThreads = try options.optionalNumber(threads, "EGRESS_PEP_THREADS", in: 1...1024)
        c.pinEventLoops = options.flag(pinEventLoops, "EGRESS_PEP_PIN_EVENT_LOOPS")
    }
}
