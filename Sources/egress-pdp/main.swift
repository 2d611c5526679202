import ArgumentParser
import Foundation
import Logging
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
        let env = ProcessInfo.processInfo.environment
        func value(_ option: String?, _ name: String) -> String? { option ?? env[name].flatMap { $0.isEmpty ? nil : $0 } }
        func number(_ option: Int?, _ name: String, default fallback: Int?) throws -> Int? {
            if let option { return option }
            guard let text = value(nil, name) else { return fallback }
            guard let number = Int(text) else { throw ValidationError("\(name) must be a whole number, not '\(text)'") }
            return number
        }

        // Everything this process creates (database, socket, token file) is
        // private to its user unless made otherwise on purpose.
        umask(0o077)

        let level = value(logLevel, "EGRESS_PDP_LOG_LEVEL") ?? "info"
        guard let parsedLevel = Logger.Level(rawValue: level) else { throw ValidationError("unknown log level '\(level)'") }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = parsedLevel
            return handler
        }
        let logger = Logger(label: "egress-pdp")

        let dataDir = value(dataDir, "EGRESS_PDP_DATA_DIR") ?? Self.defaultDataDirectory()
        let listenText = value(listen, "EGRESS_PDP_LISTEN") ?? "127.0.0.1:15010"
        let tcp = listenText == "none" ? nil : try Self.hostPort(listenText, "--listen")
        var tls: DecisionListeners.TLS?
        if let tlsListen = value(tlsListen, "EGRESS_PDP_TLS_LISTEN") {
            let (host, port) = try Self.hostPort(tlsListen, "--tls-listen")
            guard let cert = value(tlsCert, "EGRESS_PDP_TLS_CERT"), let key = value(tlsKey, "EGRESS_PDP_TLS_KEY"),
                let ca = value(tlsClientCa, "EGRESS_PDP_TLS_CLIENT_CA")
            else { throw ValidationError("--tls-listen needs --tls-cert, --tls-key and --tls-client-ca") }
            tls = .init(host: host, port: port, certificate: cert, key: key, clientCA: ca)
        }
        let unix = value(unixSocket, "EGRESS_PDP_UNIX_SOCKET")
        if tcp == nil, unix == nil, tls == nil { throw ValidationError("every decision listener is disabled") }
        let admin = try Self.hostPort(value(adminListen, "EGRESS_PDP_ADMIN_LISTEN") ?? "127.0.0.1:15011", "--admin-listen")
        let maxAge = try number(auditMaxAgeDays, "EGRESS_PDP_AUDIT_MAX_AGE_DAYS", default: nil)
        let maxRecords = try number(auditMaxRecords, "EGRESS_PDP_AUDIT_MAX_RECORDS", default: nil)
        if let maxAge, !(1...36_500).contains(maxAge) { throw ValidationError("--audit-max-age-days must be 1 to 36500") }
        if let maxRecords, maxRecords < 1 { throw ValidationError("--audit-max-records must be 1 or more") }
        let maxBacklog = try number(auditMaxBacklog, "EGRESS_PDP_AUDIT_MAX_BACKLOG", default: 100_000)!
        if maxBacklog < 1 { throw ValidationError("--audit-max-backlog must be 1 or more") }
        let allow = try number(allowTtl, "EGRESS_PDP_ALLOW_TTL", default: 60)!
        let deny = try number(denyTtl, "EGRESS_PDP_DENY_TTL", default: 5)!
        guard allow >= 0, deny >= 0 else { throw ValidationError("TTLs are zero or more seconds") }

        var configuration = PDPConfiguration(
            databasePath: value(db, "EGRESS_PDP_DB") ?? (dataDir as NSString).appendingPathComponent("pdp.sqlite"),
            decision: DecisionListeners(tcp: tcp, unixSocket: unix, tls: tls),
            adminHost: admin.0, adminPort: admin.1,
            policiesDirectory: value(policies, "EGRESS_PDP_POLICIES"),
            workloadsFile: value(workloads, "EGRESS_PDP_WORKLOADS"),
            ttl: .init(allow: allow, deny: deny),
            adminTokenFile: value(adminTokenFile, "EGRESS_PDP_ADMIN_TOKEN_FILE")
                ?? (dataDir as NSString).appendingPathComponent("admin.token"),
            publicSuffixList: value(publicSuffixList, "EGRESS_PDP_PUBLIC_SUFFIX_LIST"),
            auditMaxAgeDays: maxAge,
            auditMaxRecords: maxRecords,
            auditMaxBacklog: maxBacklog,
            newAdminToken: newAdminToken,
            eventLoopThreads: try number(threads, "EGRESS_PDP_THREADS", default: ProcessInfo.processInfo.activeProcessorCount)!)
        configuration.decisionLimits = try decisionLimits(number: number)
        configuration.policyCheckTimeout = .nanoseconds(
            try Self.seconds(policyCheckTimeout, "EGRESS_PDP_POLICY_CHECK_TIMEOUT", "--policy-check-timeout", default: 10).nanoseconds)
        configuration.maxPolicyFiles = try number(maxPolicyFiles, "EGRESS_PDP_MAX_POLICY_FILES", default: 5000) ?? 5000
        if configuration.maxPolicyFiles < 1 { throw ValidationError("--max-policy-files must be 1 or more") }
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

    /// The decision API's limits from the options, each range-checked.
    private func decisionLimits(number: (Int?, String, Int?) throws -> Int?) throws -> DecisionLimits {
        func counted(_ option: Int?, _ name: String, _ flag: String, default fallback: Int, minimum: Int = 1) throws -> Int {
            let value = try number(option, name, fallback) ?? fallback
            guard value >= minimum else { throw ValidationError("\(flag) must be \(minimum) or more, not \(value)") }
            return value
        }
        func seconds(_ o: Double?, _ n: String, _ f: String, default d: Double) throws -> TimeAmount { try Self.seconds(o, n, f, default: d) }
        let maxConnections = try counted(self.maxConnections, "EGRESS_PDP_MAX_CONNECTIONS", "--max-connections", default: 1024)
        let perSource = try counted(
            maxConnectionsPerSource, "EGRESS_PDP_MAX_CONNECTIONS_PER_SOURCE", "--max-connections-per-source", default: 64)
        let resets = try counted(
            maxResetsPerSource, "EGRESS_PDP_MAX_RESETS_PER_SOURCE", "--max-resets-per-source", default: 400, minimum: 0)
        let budget = try counted(bodyBudget, "EGRESS_PDP_BODY_BUDGET", "--body-budget", default: 64 << 20, minimum: 64 * 1024)
        let perConnection = try counted(
            bodyBudgetPerConnection, "EGRESS_PDP_BODY_BUDGET_PER_CONNECTION", "--body-budget-per-connection", default: 16 << 20,
            minimum: 64 * 1024)
        return DecisionLimits(
            admission: .init(maxConnections: maxConnections, maxPerSource: perSource, maxResetsPerSource: resets == 0 ? nil : resets),
            bodyBudget: budget, bodyBudgetPerConnection: min(perConnection, budget),
            prefaceTimeout: try seconds(prefaceTimeout, "EGRESS_PDP_PREFACE_TIMEOUT", "--preface-timeout", default: 10),
            idleTimeout: try seconds(idleTimeout, "EGRESS_PDP_IDLE_TIMEOUT", "--idle-timeout", default: 300),
            requestTimeout: try seconds(requestTimeout, "EGRESS_PDP_REQUEST_TIMEOUT", "--request-timeout", default: 30),
            maxBufferedAnswers: try counted(
                maxBufferedAnswers, "EGRESS_PDP_MAX_BUFFERED_ANSWERS", "--max-buffered-answers", default: 256))
    }

    /// A number of seconds from an option or its variable, 0.05 to 86400.
    static func seconds(_ option: Double?, _ name: String, _ flag: String, default fallback: Double) throws -> TimeAmount {
        var value = fallback
        if let option {
            value = option
        } else if let text = ProcessInfo.processInfo.environment[name], !text.isEmpty {
            guard let parsed = Double(text) else { throw ValidationError("\(name) must be a number of seconds, not '\(text)'") }
            value = parsed
        }
        guard value >= 0.05, value <= 86_400 else { throw ValidationError("\(flag) must be 0.05 to 86400 seconds, not \(value)") }
        return .nanoseconds(Int64(value * 1e9))
    }

    static func defaultDataDirectory() -> String {
        if getuid() == 0 { return "/var/lib/egress-pdp" }
        let env = ProcessInfo.processInfo.environment
        let xdg = env["XDG_DATA_HOME"].flatMap { $0.hasPrefix("/") ? $0 : nil }
        let base = xdg ?? (NSHomeDirectory() as NSString).appendingPathComponent(".local/share")
        return (base as NSString).appendingPathComponent("egress-pdp")
    }

    static func hostPort(_ text: String, _ option: String) throws -> (String, Int) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port)
        else { throw ValidationError("\(option): expected HOST:PORT, got '\(text)'") }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host, port)
    }
}
