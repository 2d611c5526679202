import EgressAPI
import Foundation
import KubernetesClient
import Hummingbird
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import PolicyLang
import ServiceLifecycle
import LocalFiles

/// The whole decision service: store, engine, decision API, admin API, audit
/// writer and the inventory file follower, started together and stopped in
/// order on SIGTERM or SIGINT (admin API, then decision API with its drain,
/// then the audit writer, which writes everything still queued).
public final class PDPService: Sendable {
    public let configuration: PDPConfiguration
    let logger: Logger
    let database: PDPDatabase
    let metrics = PDPMetrics()
    let audit: AuditWriter
    let engine: DecisionEngine
    let authenticator = EnforcerAuthenticator()
    let policies: PolicyManager
    let inventory: InventoryManager
    let group: MultiThreadedEventLoopGroup
    /// The workloads file as `prepare()` read it, so the follower does not read it again.
    private let workloadsStamp = NIOLockedValueBox<FileStamp?>(nil)

    public init(configuration: PDPConfiguration, logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
        database = try PDPDatabase(path: configuration.databasePath)
        audit = try AuditWriter(database: database, metrics: metrics, logger: logger, maxBacklog: configuration.auditMaxBacklog)
        engine = DecisionEngine(ttl: configuration.ttl, audit: audit, metrics: metrics)
        policies = PolicyManager(
            database: database, engine: engine, linter: Linter(publicSuffixes: try Self.publicSuffixes(configuration, logger)),
            logger: logger)
        inventory = InventoryManager(database: database, engine: engine, logger: logger)
        group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, configuration.eventLoopThreads))
    }

    static func publicSuffixes(_ configuration: PDPConfiguration, _ logger: Logger) throws -> PublicSuffixList {
        let path = configuration.publicSuffixList ?? PublicSuffixList.debianPath
        guard let data = FileManager.default.contents(atPath: path) else {
            if configuration.publicSuffixList != nil { throw StoreError.io("cannot read the Public Suffix List at \(path)") }
            logger.warning("Public Suffix List not found; broad-host knows only single-label suffixes", metadata: ["path": "\(path)"])
            return .implicitOnly
        }
        return PublicSuffixList(text: String(decoding: data, as: UTF8.self))
    }

    /// Loads state, binds every listener, and runs until SIGTERM or SIGINT.
    public func run() async throws {
        let started = ContinuousClock.now
        try prepare()
        let decisionServer = DecisionServer(
            engine: engine, authenticator: authenticator, group: group, limits: configuration.decisionLimits, logger: logger)
        let bound = try await decisionServer.start(configuration.decision)
        for address in bound { logger.info("decision API listening", metadata: ["address": "\(address)"]) }

        let readiness = ReadinessFlag()
        let kubernetes = try kubernetesSource()
        let checks = CheckRunner(
            limits: .init(maxFiles: configuration.maxPolicyFiles, timeout: configuration.policyCheckTimeout), metrics: metrics)
        let admin = AdminAPI(
            policies: policies, inventory: inventory, database: database, audit: audit, authenticator: authenticator,
            metrics: metrics, checks: checks, ready: { [kubernetes] in readiness.isReady && (kubernetes?.isReady ?? true) },
            tokensChanged: { [authenticator, database] in try authenticator.reload(from: database) })
        let logger = logger
        let app = Application(
            router: admin.router(),
            configuration: .init(address: .hostname(configuration.adminHost, port: configuration.adminPort), serverName: nil),
            onServerRunning: { channel in
                logger.info(
                    "admin API listening",
                    metadata: ["address": "http://\(DecisionServer.describe(channel.localAddress))"])
                readiness.set()
                logger.info("ready", metadata: ["startup": "\(ContinuousClock.now - started)"])
            },
            eventLoopGroupProvider: .shared(group), logger: logger)

        var services: [any Service] = [
            AuditService(writer: audit, database: database, configuration: configuration, logger: logger),
            DecisionAPIService(server: decisionServer),
        ]
        if let file = configuration.workloadsFile {
            let source = WorkloadsFileSource(path: file, loadedAt: workloadsStamp.withLockedValue { $0 }, logger: logger)
            services.append(InventorySourceService(inventory: inventory, source: source))
        }
        if let kubernetes { services.append(InventorySourceService(inventory: inventory, source: kubernetes)) }
        services.append(app)
        // Last, so that it hears of the shutdown first: the admin API waits
        // for requests under way, and a long check must end before that.
        services.append(PolicyCheckStopper(checks: checks))
        let serviceGroup = ServiceGroup(
            configuration: .init(
                services: services.map { .init(service: $0) }, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await serviceGroup.run()
        await checks.shutdown()
        try await group.shutdownGracefully()
        let head = audit.currentHead
        logger.info("stopped", metadata: ["auditHeadSeq": "\(head.seq)", "auditHead": "\(head.hash)"])
    }

    /// The Kubernetes API as an inventory source, when configured.
    private func kubernetesSource() throws -> KubernetesSource? {
        guard let settings = configuration.kubernetes else { return nil }
        logger.info(
            "the inventory follows the Kubernetes API",
            metadata: [
                "server": "\(settings.connection.server)",
                "namespaces": "\(settings.namespaces.isEmpty ? "all" : settings.namespaces.joined(separator: ","))",
            ])
        return KubernetesSource(
            api: try KubernetesAPI(connection: settings.connection),
            settings: .init(
                namespaces: settings.namespaces, trustDomain: settings.trustDomain, watchTimeoutSeconds: settings.watchTimeoutSeconds),
            metrics: metrics, logger: logger)
    }

    /// Tokens, the active revision and the inventory, before anything listens.
    func prepare() throws {
        if try database.tokenCount() == 0 || configuration.newAdminToken { try writeBootstrapToken() }
        try authenticator.reload(from: database)
        if let file = configuration.workloadsFile {
            // Loaded now so that the first decision already knows the
            // workloads; the follower then watches for changes.
            let stamp = FileStamp(path: file)
            _ = try inventory.replace(try WorkloadsFileSource.read(file))
            workloadsStamp.withLockedValue { $0 = stamp }
        }
        try inventory.load()
        let directory = configuration.policiesDirectory
        try policies.loadActive(
            seed: {
                guard let directory else { return nil }
                do {
                    return try PolicyDirectory.files(in: directory)
                } catch {
                    throw StoreError.io("--policies: \(error)")
                }
            }, seedOrigin: directory ?? "")
        let snapshot = engine.snapshot
        logger.info(
            "state loaded",
            metadata: [
                "revision": "\(snapshot.revision.map(String.init) ?? "none")", "rules": "\(snapshot.index.rules.count)",
                "workloads": "\(snapshot.byIP.count) addresses", "auditHeadSeq": "\(audit.currentHead.seq)",
                "auditHead": "\(audit.currentHead.hash)",
            ])
    }

    /// The file is written (atomically, 0600) before the token is stored: a
    /// crash in between leaves a file with a token that does not work yet,
    /// and the next start simply makes a new one.
    private func writeBootstrapToken() throws {
        let secret = TokenSecret.generate()
        let path = configuration.adminTokenFile
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        let temporary = path + ".tmp"
        guard FileManager.default.createFile(atPath: temporary, contents: Data((secret + "\n").utf8), attributes: [.posixPermissions: 0o600]),
            rename(temporary, path) == 0
        else { throw StoreError.io("cannot write the admin token to \(path)") }
        // Token names are unique among live tokens: a new one made while the
        // first still lives gets the time in its name.
        let name = configuration.newAdminToken ? "bootstrap-admin-\(nowMilliseconds())" : "bootstrap-admin"
        _ = try database.createToken(name: name, role: .admin, secret: secret)
        logger.notice(
            configuration.newAdminToken ? "wrote a new admin token (--new-admin-token)" : "first start: wrote an admin token",
            metadata: ["file": "\(path)"])
    }
}

/// Set once the admin API is up: `/readyz` answers 200 from then on.
final class ReadinessFlag: Sendable {
    private let flag = NIOLockedValueBox(false)
    func set() { flag.withLockedValue { $0 = true } }
    var isReady: Bool { flag.withLockedValue { $0 } }
}

struct PolicyCheckStopper: Service {
    let checks: CheckRunner
    func run() async throws {
        try? await gracefulShutdown()
        checks.stopChecks()
    }
}

struct DecisionAPIService: Service {
    let server: DecisionServer
    func run() async throws {
        try? await gracefulShutdown()
        await server.shutdown()
    }
}

/// Runs an inventory source until the service stops.
struct InventorySourceService: Service {
    let inventory: InventoryManager
    let source: any InventorySource
    func run() async throws {
        await cancelWhenGracefulShutdown { await source.run(updating: inventory) }
    }
}

/// Runs the audit writer; prunes by age and count every minute and logs the
/// chain head for outside anchoring; on shutdown writes everything queued.
struct AuditService: Service {
    let writer: AuditWriter
    let database: PDPDatabase
    let configuration: PDPConfiguration
    let logger: Logger

    func run() async throws {
        writer.start()
        prune()
        await cancelWhenGracefulShutdown {
            var lastLogged: Int64 = -1
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(60))
                prune()
                let head = writer.currentHead
                if head.seq != lastLogged {
                    logger.info("audit chain head", metadata: ["seq": "\(head.seq)", "hash": "\(head.hash)"])
                    lastLogged = head.seq
                }
            }
        }
        writer.stop()
        logger.info("audit trail flushed", metadata: ["seq": "\(writer.currentHead.seq)", "hash": "\(writer.currentHead.hash)"])
    }

    func prune() {
        guard configuration.auditMaxAgeDays != nil || configuration.auditMaxRecords != nil else { return }
        let olderThan = configuration.auditMaxAgeDays.map { nowMilliseconds() - Int64($0) * 86_400_000 }
        do {
            let dropped = try database.pruneAudit(keepCount: configuration.auditMaxRecords, olderThan: olderThan)
            if dropped > 0, let anchor = try database.auditAnchor() {
                // The anchor is logged for the same reason as the head: an
                // outside copy shows whether the start of the chain moved.
                logger.info(
                    "audit retention dropped old records",
                    metadata: ["records": "\(dropped)", "anchorSeq": "\(anchor.seq)", "anchorHash": "\(anchor.hash)"])
            }
        } catch {
            logger.error("audit retention failed", metadata: ["error": "\(error)"])
        }
    }
}
