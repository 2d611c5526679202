import KubernetesClient
import Foundation
import Logging
import NIOCore

/// Everything `egress-pdp serve` can be told; see `docs/pdp.md`.
public struct PDPConfiguration: Sendable {
    public var databasePath: String
    public var decision: DecisionListeners
    public var adminHost: String
    public var adminPort: Int
    /// Seeds revision 1 when the database holds no policy.
    public var policiesDirectory: String?
    /// Loaded at start-up and whenever it changes.
    public var workloadsFile: String?
    public var ttl: DecisionEngine.TTL
    /// Where the first start writes the bootstrap admin token.
    public var adminTokenFile: String
    public var publicSuffixList: String?
    public var auditMaxAgeDays: Int?
    public var auditMaxRecords: Int?
    /// Audit records accepted but not yet written, at most.
    public var auditMaxBacklog: Int
    /// Write a fresh admin token at start even if tokens exist.
    public var newAdminToken: Bool
    public var eventLoopThreads: Int
    /// The decision API's caps and timeouts.
    public var decisionLimits = DecisionLimits()
    /// Time one policy check (validate, a new revision) may take.
    public var policyCheckTimeout: Duration = .seconds(10)
    /// Policy files one request may carry.
    public var maxPolicyFiles = 5000
    /// The Kubernetes API as an inventory source (`--kubernetes`,
    /// `--kubeconfig`); nil: none.
    public var kubernetes: KubernetesInventorySettings?

    public init(
        databasePath: String, decision: DecisionListeners, adminHost: String = "127.0.0.1", adminPort: Int = 15011,
        policiesDirectory: String? = nil, workloadsFile: String? = nil, ttl: DecisionEngine.TTL = .init(allow: 60, deny: 5),
        adminTokenFile: String, publicSuffixList: String? = nil, auditMaxAgeDays: Int? = nil, auditMaxRecords: Int? = nil,
        auditMaxBacklog: Int = 100_000, newAdminToken: Bool = false, eventLoopThreads: Int = System.coreCount
    ) {
        self.databasePath = databasePath
        self.decision = decision
        self.adminHost = adminHost
        self.adminPort = adminPort
        self.policiesDirectory = policiesDirectory
        self.workloadsFile = workloadsFile
        self.ttl = ttl
        self.adminTokenFile = adminTokenFile
        self.publicSuffixList = publicSuffixList
        self.auditMaxAgeDays = auditMaxAgeDays
        self.auditMaxRecords = auditMaxRecords
        self.newAdminToken = newAdminToken
        self.auditMaxBacklog = auditMaxBacklog
        self.eventLoopThreads = eventLoopThreads
    }
}

/// Where the Kubernetes inventory comes from and how identities are named.
public struct KubernetesInventorySettings: Sendable {
    public var connection: KubernetesConnection
    /// Namespaces whose pods are watched; empty: all.
    public var namespaces: [String]
    /// The SPIFFE trust domain of pods' IDs (`spiffe://DOMAIN/ns/NS/sa/SA`).
    public var trustDomain: String
    /// Seconds the API server keeps one watch open before it is opened again.
    public var watchTimeoutSeconds: Int

    public init(connection: KubernetesConnection, namespaces: [String], trustDomain: String, watchTimeoutSeconds: Int = 300) {
        self.connection = connection
        self.namespaces = namespaces
        self.trustDomain = trustDomain
        self.watchTimeoutSeconds = watchTimeoutSeconds
    }
}
