import ArgumentParser
import Foundation
import KubernetesClient
import PolicyLang
import Logging
import DaemonOptions
import NIOCore
import PDP

/// `egress-pdp`: the policy decision service.
@main
struct EgressPDP: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "egress-pdp",
        abstract: "The egress policy decision service.",
        subcommands: [Serve.self],
        defaultSubcommand: Serve.self)
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Answer enforcers' decisions and serve the admin API.",
        discussion: """
            Every option can also be set with the environment variable named in its help;
            a command-line option wins over the variable.

            With no options it keeps its database in the data directory, answers decisions
            on h2c at 127.0.0.1:15010 (bearer tokens of role pep) and serves the admin API
            at http://127.0.0.1:15011. On the first start it writes an admin token to
            --admin-token-file. Until a policy revision is applied (egressctl apply, or
            --policies on an empty database) every request is denied.

            SIGTERM or SIGINT: stop accepting, finish accepted requests, write every
            queued audit record, exit 0.
            """)

    @Option(help: "Data directory for the database and admin token (env EGRESS_PDP_DATA_DIR; default /var/lib/egress-pdp as root, else $XDG_DATA_HOME/egress-pdp or ~/.local/share/egress-pdp).")
    var dataDir: String?

    @Option(help: "SQLite database file (env EGRESS_PDP_DB; default DATA_DIR/pdp.sqlite).")
    var db: String?

    @Option(help: "Decision API h2c listener, HOST:PORT or 'none' (env EGRESS_PDP_LISTEN; default 127.0.0.1:15010).")
    var listen: String?

    @Option(help: "Decision API h2c Unix socket path, created 0660 (env EGRESS_PDP_UNIX_SOCKET; default none).")
    var unixSocket: String?

    @Option(help: "Decision API h2 over TLS listener, HOST:PORT (env EGRESS_PDP_TLS_LISTEN; needs --tls-cert, --tls-key, --tls-client-ca).")
    var tlsListen: String?

    @Option(help: "Server certificate chain, PEM (env EGRESS_PDP_TLS_CERT).")
    var tlsCert: String?

    @Option(help: "Server private key, PEM (env EGRESS_PDP_TLS_KEY).")
    var tlsKey: String?

    @Option(help: "CA bundle that enforcers' client certificates must chain to, PEM (env EGRESS_PDP_TLS_CLIENT_CA).")
    var tlsClientCa: String?

    @Option(help: "Admin API listener, HOST:PORT (env EGRESS_PDP_ADMIN_LISTEN; default 127.0.0.1:15011).")
    var adminListen: String?

    @Option(help: "Policy directory stored as revision 1 when the database has no policy (env EGRESS_PDP_POLICIES).")
    var policies: String?

    @Option(help: "Workloads file, YAML or JSON, loaded at start and reloaded when it changes (env EGRESS_PDP_WORKLOADS).")
    var workloads: String?

    @Flag(help: "Learn pods and namespaces from the Kubernetes API: the in-cluster configuration (the service account's token and CA), or --kubeconfig / KUBECONFIG when given (env EGRESS_PDP_KUBERNETES=1).")
    var kubernetes = false

    @Option(help: "A kubeconfig whose current context reaches the Kubernetes API; implies --kubernetes (env KUBECONFIG, read with --kubernetes).")
    var kubeconfig: String?

    @Option(help: "Watch only this namespace's pods; repeat for more (env EGRESS_PDP_KUBERNETES_NAMESPACES, comma-separated; default all).")
    var kubernetesNamespace: [String] = []

    @Option(help: "SPIFFE trust domain of pods found through the Kubernetes API: spiffe://DOMAIN/ns/NS/sa/SA (env EGRESS_PDP_TRUST_DOMAIN; default cluster.local).")
    var trustDomain: String?

    @Option(help: "Seconds an enforcer may cache an allow (env EGRESS_PDP_ALLOW_TTL; default 60).")
    var allowTtl: Int?

    @Option(help: "Seconds an enforcer may cache a deny (env EGRESS_PDP_DENY_TTL; default 5).")
    var denyTtl: Int?

    @Option(help: "Where the first start writes the admin token (env EGRESS_PDP_ADMIN_TOKEN_FILE; default DATA_DIR/admin.token).")
    var adminTokenFile: String?

    @Option(help: "Public Suffix List for the broad-host check (env EGRESS_PDP_PUBLIC_SUFFIX_LIST; default Debian's).")
    var publicSuffixList: String?

    @Option(help: "Drop audit records older than this many days (env EGRESS_PDP_AUDIT_MAX_AGE_DAYS; default keep all).")
    var auditMaxAgeDays: Int?

    @Option(help: "Keep at most this many audit records (env EGRESS_PDP_AUDIT_MAX_RECORDS; default keep all).")
    var auditMaxRecords: Int?

    @Option(help: "Audit records accepted but not yet written, at most; past it decisions are refused with 503 so that none goes unrecorded (env EGRESS_PDP_AUDIT_MAX_BACKLOG; default 100000, about 20 MB).")
    var auditMaxBacklog: Int?

    @Option(help: "Event loop threads (env EGRESS_PDP_THREADS; default one per core).")
    var threads: Int?

    @Option(help: "Decision API connections open at once, at most; more are closed at accept (env EGRESS_PDP_MAX_CONNECTIONS; default 1024).")
    var maxConnections: Int?

    @Option(help: "Decision API connections one source address may hold at once (env EGRESS_PDP_MAX_CONNECTIONS_PER_SOURCE; default 64).")
    var maxConnectionsPerSource: Int?

    @Option(help: "Stream resets one source address may send in 10 s over all its connections; past it the connection is closed and the address refused for 10 s; 0 for no limit (env EGRESS_PDP_MAX_RESETS_PER_SOURCE; default 400).")
    var maxResetsPerSource: Int?

    @Option(help: "Seconds from accepting a decision API connection to its first HTTP/2 frame (env EGRESS_PDP_PREFACE_TIMEOUT; default 10).")
    var prefaceTimeout: Double?

    @Option(help: "Seconds a decision API connection with no open request or watch may send nothing before it is closed (env EGRESS_PDP_IDLE_TIMEOUT; default 300).")
    var idleTimeout: Double?

    @Option(help: "Seconds from a request's headers to the end of its body; then it is answered 408 (env EGRESS_PDP_REQUEST_TIMEOUT; default 30).")
    var requestTimeout: Double?

    @Option(help: "Bytes of request bodies held across all connections; past it requests are answered 503 (env EGRESS_PDP_BODY_BUDGET; default 67108864, 64 MiB).")
    var bodyBudget: Int?

    @Option(help: "Bytes of request bodies one connection may hold (env EGRESS_PDP_BODY_BUDGET_PER_CONNECTION; default 16777216, 16 MiB).")
    var bodyBudgetPerConnection: Int?

    @Option(help: "Answers a connection may leave unread (held back by its flow-control windows); past it the connection is closed (env EGRESS_PDP_MAX_BUFFERED_ANSWERS; default 256).")
    var maxBufferedAnswers: Int?

    @Option(help: "Seconds one policy check (revisions/validate, a new revision) may take; past it the answer is 422 (env EGRESS_PDP_POLICY_CHECK_TIMEOUT; default 10).")
    var policyCheckTimeout: Double?

    @Option(help: "Policy files one validate or revision request may carry; past it the answer is 413 (env EGRESS_PDP_MAX_POLICY_FILES; default 5000).")
    var maxPolicyFiles: Int?

    @Flag(help: "Write a new admin token to --admin-token-file at start, as on the first start: the way back in when every admin token was revoked or lost (needs access to the data directory).")
    var newAdminToken = false

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical (env EGRESS_PDP_LOG_LEVEL; default info).")
    var logLevel: String?

    func run() async throws {
        // Everything this process creates (database, socket, token file) is
        // private to its user unless made otherwise on purpose.
        umask(0o077)

        let options = OptionReader(prefix: "EGRESS_PDP_")
        let configuration: PDPConfiguration
        let level: Logger.Level
        do {
            let levelText = options.value(logLevel, "EGRESS_PDP_LOG_LEVEL") ?? "info"
            guard let parsed = Logger.Level(rawValue: levelText) else { throw OptionReader.Invalid("unknown log level '\(levelText)'") }
            level = parsed
            configuration = try makeConfiguration(options)
        } catch let invalid as OptionReader.Invalid {
            throw ValidationError(invalid.description)
        }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "egress-pdp")
        do {
            try await PDPService(configuration: configuration, logger: logger).run()
        } catch let rejected as PolicyManager.Rejected {
            logger.critical("cannot start: \(rejected.message)")
            throw ExitCode(1)
        } catch {
            logger.critical("cannot start: \(error)")
            throw ExitCode(1)
        }
    }

    /// Everything but the log level, from the options and their variables.
    private func makeConfiguration(_ o: OptionReader) throws -> PDPConfiguration {
        let dataDir = o.value(dataDir, "EGRESS_PDP_DATA_DIR") ?? Self.defaultDataDirectory()
        let listenText = o.value(listen, "EGRESS_PDP_LISTEN") ?? "127.0.0.1:15010"
        let tcp = listenText == "none" ? nil : try o.hostPort(listenText, flag: "--listen")
        var tls: DecisionListeners.TLS?
        if let tlsListen = o.value(tlsListen, "EGRESS_PDP_TLS_LISTEN") {
            let (host, port) = try o.hostPort(tlsListen, flag: "--tls-listen")
            guard let cert = o.value(tlsCert, "EGRESS_PDP_TLS_CERT"), let key = o.value(tlsKey, "EGRESS_PDP_TLS_KEY"),
                let ca = o.value(tlsClientCa, "EGRESS_PDP_TLS_CLIENT_CA")
            else { throw OptionReader.Invalid("--tls-listen needs --tls-cert, --tls-key and --tls-client-ca") }
            tls = .init(host: host, port: port, certificate: cert, key: key, clientCA: ca)
        }
        let unix = o.value(unixSocket, "EGRESS_PDP_UNIX_SOCKET")
        if tcp == nil, unix == nil, tls == nil { throw OptionReader.Invalid("every decision listener is disabled") }
        let admin = try o.hostPort(o.value(adminListen, "EGRESS_PDP_ADMIN_LISTEN") ?? "127.0.0.1:15011", flag: "--admin-listen")
        var configuration = PDPConfiguration(
            databasePath: o.value(db, "EGRESS_PDP_DB") ?? (dataDir as NSString).appendingPathComponent("pdp.sqlite"),
            decision: DecisionListeners(tcp: tcp, unixSocket: unix, tls: tls),
            adminHost: admin.host, adminPort: admin.port,
            policiesDirectory: o.value(policies, "EGRESS_PDP_POLICIES"),
            workloadsFile: o.value(workloads, "EGRESS_PDP_WORKLOADS"),
            ttl: .init(
                allow: try o.number(allowTtl, "EGRESS_PDP_ALLOW_TTL", default: 60, in: 0...Int.max),
                deny: try o.number(denyTtl, "EGRESS_PDP_DENY_TTL", default: 5, in: 0...Int.max)),
            adminTokenFile: o.value(adminTokenFile, "EGRESS_PDP_ADMIN_TOKEN_FILE")
                ?? (dataDir as NSString).appendingPathComponent("admin.token"),
            publicSuffixList: o.value(publicSuffixList, "EGRESS_PDP_PUBLIC_SUFFIX_LIST"),
            auditMaxAgeDays: try o.optionalNumber(auditMaxAgeDays, "EGRESS_PDP_AUDIT_MAX_AGE_DAYS", in: 1...36_500),
            auditMaxRecords: try o.optionalNumber(auditMaxRecords, "EGRESS_PDP_AUDIT_MAX_RECORDS", in: 1...Int.max),
            auditMaxBacklog: try o.number(auditMaxBacklog, "EGRESS_PDP_AUDIT_MAX_BACKLOG", default: 100_000, in: 1...Int.max),
            newAdminToken: newAdminToken,
            eventLoopThreads: try o.number(
                threads, "EGRESS_PDP_THREADS", default: ProcessInfo.processInfo.activeProcessorCount, in: 1...Int.max))
        configuration.decisionLimits = try decisionLimits(o)
        configuration.policyCheckTimeout = Self.duration(
            try o.seconds(policyCheckTimeout, "EGRESS_PDP_POLICY_CHECK_TIMEOUT", default: 10, in: 0.05...86_400))
        configuration.maxPolicyFiles = try o.number(maxPolicyFiles, "EGRESS_PDP_MAX_POLICY_FILES", default: 5000, in: 1...Int.max)
        configuration.kubernetes = try kubernetesSettings(o)
        return configuration
    }

    /// The Kubernetes inventory's settings, when it is asked for.
    private func kubernetesSettings(_ o: OptionReader) throws -> KubernetesInventorySettings? {
        let environment = ProcessInfo.processInfo.environment
        let wanted = kubernetes || kubeconfig != nil || environment["EGRESS_PDP_KUBERNETES"] == "1"
        guard wanted else { return nil }
        let connection: KubernetesConnection
        do {
            if let file = kubeconfig ?? environment["KUBECONFIG"].flatMap({ $0.isEmpty ? nil : $0 }) {
                connection = try KubernetesConnection.kubeconfig(file)
            } else {
                connection = try KubernetesConnection.inCluster()
            }
        } catch let invalid as KubernetesConnection.Invalid {
            throw OptionReader.Invalid(invalid.description)
        }
        var namespaces = kubernetesNamespace
        if namespaces.isEmpty, let listed = environment["EGRESS_PDP_KUBERNETES_NAMESPACES"] {
            namespaces = listed.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        for namespace in namespaces where KubernetesNames.checkLabel(namespace, what: "namespace") != nil {
            throw OptionReader.Invalid("--kubernetes-namespace '\(namespace)' is not a namespace name")
        }
        let domain = o.value(trustDomain, "EGRESS_PDP_TRUST_DOMAIN") ?? "cluster.local"
        guard !domain.isEmpty, !domain.contains("/"), !domain.contains(":") else {
            throw OptionReader.Invalid("--trust-domain '\(domain)' is not a trust domain (a name such as cluster.local)")
        }
        return KubernetesInventorySettings(connection: connection, namespaces: namespaces, trustDomain: domain)
    }

    /// The decision API's limits from the options, each range-checked.
    private func decisionLimits(_ o: OptionReader) throws -> DecisionLimits {
        func seconds(_ option: Double?, _ variable: String, default fallback: Double) throws -> TimeAmount {
            .nanoseconds(Int64(try o.seconds(option, variable, default: fallback, in: 0.05...86_400) * 1e9))
        }
        let maxConnections = try o.number(self.maxConnections, "EGRESS_PDP_MAX_CONNECTIONS", default: 1024, in: 1...Int.max)
        let perSource = try o.number(maxConnectionsPerSource, "EGRESS_PDP_MAX_CONNECTIONS_PER_SOURCE", default: 64, in: 1...Int.max)
        let resets = try o.number(maxResetsPerSource, "EGRESS_PDP_MAX_RESETS_PER_SOURCE", default: 400, in: 0...Int.max)
        let budget = try o.number(bodyBudget, "EGRESS_PDP_BODY_BUDGET", default: 64 << 20, in: (64 * 1024)...Int.max)
        let perConnection = try o.number(
            bodyBudgetPerConnection, "EGRESS_PDP_BODY_BUDGET_PER_CONNECTION", default: 16 << 20, in: (64 * 1024)...Int.max)
        return DecisionLimits(
            admission: .init(maxConnections: maxConnections, maxPerSource: perSource, maxResetsPerSource: resets == 0 ? nil : resets),
            bodyBudget: budget, bodyBudgetPerConnection: min(perConnection, budget),
            prefaceTimeout: try seconds(prefaceTimeout, "EGRESS_PDP_PREFACE_TIMEOUT", default: 10),
            idleTimeout: try seconds(idleTimeout, "EGRESS_PDP_IDLE_TIMEOUT", default: 300),
            requestTimeout: try seconds(requestTimeout, "EGRESS_PDP_REQUEST_TIMEOUT", default: 30),
            maxBufferedAnswers: try o.number(maxBufferedAnswers, "EGRESS_PDP_MAX_BUFFERED_ANSWERS", default: 256, in: 1...Int.max))
    }

    static func duration(_ seconds: Double) -> Duration { .nanoseconds(Int64(seconds * 1e9)) }

    static func defaultDataDirectory() -> String {
        if getuid() == 0 { return "/var/lib/egress-pdp" }
        let env = ProcessInfo.processInfo.environment
        let xdg = env["XDG_DATA_HOME"].flatMap { $0.hasPrefix("/") ? $0 : nil }
        let base = xdg ?? (NSHomeDirectory() as NSString).appendingPathComponent(".local/share")
        return (base as NSString).appendingPathComponent("egress-pdp")
    }
}
