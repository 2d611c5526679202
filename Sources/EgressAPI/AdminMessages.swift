/// The bodies of the admin API, shared by the service and `egressctl`.
/// (The OpenAPI document in Sources/PDP/Resources describes the same.)

/// A diagnostic as the admin API reports it.
public struct DiagnosticRecord: Codable, Sendable, Equatable {
    public var file: String
    public var line: Int
    public var column: Int
    public var severity: String
    public var id: String
    public var message: String
    public var help: String?

    public init(file: String, line: Int, column: Int, severity: String, id: String, message: String, help: String?) {
        self.file = file
        self.line = line
        self.column = column
        self.severity = severity
        self.id = id
        self.message = message
        self.help = help
    }

    /// `file:line:column: severity: message [id]`, as egressctl lint prints.
    public var rendered: String { "\(file):\(line):\(column): \(severity): \(message) [\(id)]" }
}

/// A numbered, immutable policy set: every change makes a new one.
public struct Revision: Codable, Sendable {
    public struct File: Codable, Sendable, Hashable {
        public var path: String
        public var content: String
        public init(path: String, content: String) {
            self.path = path
            self.content = content
        }
    }

    public var id: Int64
    public var createdAt: Int64
    public var author: String
    public var reason: String
    public var files: [File]

    public init(id: Int64, createdAt: Int64, author: String, reason: String, files: [File]) {
        self.id = id
        self.createdAt = createdAt
        self.author = author
        self.reason = reason
        self.files = files
    }
}

/// A bearer token as stored: only a hash of the secret is kept.
public struct TokenRecord: Codable, Sendable, Hashable {
    public var id: String
    public var name: String
    public var role: Role
    public var createdAt: Int64
    /// Milliseconds since 1970 from which the token no longer works; nil
    /// for a token that works until it is revoked.
    public var expiresAt: Int64?

    public init(id: String, name: String, role: Role, createdAt: Int64, expiresAt: Int64? = nil) {
        self.id = id
        self.name = name
        self.role = role
        self.createdAt = createdAt
        self.expiresAt = expiresAt
    }

    /// Whether it still works at `now` (milliseconds since 1970).
    public func isLive(at now: Int64) -> Bool { expiresAt.map { now < $0 } ?? true }
}

/// The result of checking the audit chain from its anchor to its head.
public struct AuditVerification: Codable, Sendable {
    /// One place where the chain does not hold.
    public struct Break: Codable, Sendable, Equatable {
        public var seq: Int64
        public var problem: String
        public init(seq: Int64, problem: String) {
            self.seq = seq
            self.problem = problem
        }
    }

    public var valid: Bool
    public var records: Int
    public var firstSeq: Int64?
    public var lastSeq: Int64?
    public var head: String
    /// The first record whose hash does not match, or that follows a gap.
    public var brokenAt: Int64?
    public var problem: String?
    /// The last record retention dropped, which the chain starts from. Record
    /// it outside too: whoever can write the database can move it.
    public var anchorSeq: Int64?
    public var anchorHash: String?
    /// Every break found, in order (at most `maxBreaks`; `breakCount` counts
    /// them all). Verification goes on past a break: each record is checked
    /// against the one stored before it, so one false alarm cannot hide
    /// tampering further on.
    public var breaks: [Break]?
    public var breakCount: Int?

    public static let maxBreaks = 1000

    public init(
        valid: Bool, records: Int, firstSeq: Int64?, lastSeq: Int64?, head: String, brokenAt: Int64?, problem: String?,
        anchorSeq: Int64? = nil, anchorHash: String? = nil, breaks: [Break]? = nil, breakCount: Int? = nil
    ) {
        self.breaks = breaks
        self.breakCount = breakCount
        self.anchorSeq = anchorSeq
        self.anchorHash = anchorHash
        self.valid = valid
        self.records = records
        self.firstSeq = firstSeq
        self.lastSeq = lastSeq
        self.head = head
        self.brokenAt = brokenAt
        self.problem = problem
    }
}

public struct ErrorBody: Codable, Sendable {
    public let error: String
    public let diagnostics: [DiagnosticRecord]?
    public init(error: String, diagnostics: [DiagnosticRecord]?) {
        self.error = error
        self.diagnostics = diagnostics
    }
}

// MARK: Requests

public struct RevisionRequest: Codable, Sendable {
    public var files: [Revision.File]
    public var reason: String?
    /// Default true.
    public var activate: Bool?
    public init(files: [Revision.File], reason: String?, activate: Bool?) {
        self.files = files
        self.reason = reason
        self.activate = activate
    }
}

public struct ValidateRequest: Codable, Sendable {
    public var files: [Revision.File]
    public init(files: [Revision.File]) { self.files = files }
}

public struct WorkloadBody: Codable, Sendable {
    public var serviceAccount: String?
    public var labels: [String: String]?
    public var namespaceLabels: [String: String]?
    public var spiffe: String?
    public var ips: [String]?
}

public struct WorkloadList: Codable, Sendable {
    public var workloads: [Workload]
    public init(workloads: [Workload]) { self.workloads = workloads }
}

public struct TokenRequest: Codable, Sendable {
    public var name: String
    public var role: Role
    /// Seconds the token works for; absent: until it is revoked.
    public var expiresIn: Int64?
    public init(name: String, role: Role, expiresIn: Int64? = nil) {
        self.name = name
        self.role = role
        self.expiresIn = expiresIn
    }

    /// The longest lifetime a token may be given: ten years.
    public static let maxExpiresIn: Int64 = 10 * 365 * 86_400
}

// MARK: Answers

public struct RevisionSummary: Codable, Sendable {
    public var id: Int64
    public var createdAt: Int64
    public var author: String
    public var reason: String
    public var files: Int
    public var active: Bool

    public init(id: Int64, createdAt: Int64, author: String, reason: String, files: Int, active: Bool) {
        self.id = id
        self.createdAt = createdAt
        self.author = author
        self.reason = reason
        self.files = files
        self.active = active
    }
}

public struct RevisionsPage: Codable, Sendable {
    public var active: Int64?
    public var revisions: [RevisionSummary]
    public init(active: Int64?, revisions: [RevisionSummary]) {
        self.active = active
        self.revisions = revisions
    }
}

public struct CreatedRevision: Codable, Sendable {
    public var revision: Int64
    public var active: Bool
    public var diagnostics: [DiagnosticRecord]
    public var testsPassed: Int
    public init(revision: Int64, active: Bool, diagnostics: [DiagnosticRecord], testsPassed: Int) {
        self.revision = revision
        self.active = active
        self.diagnostics = diagnostics
        self.testsPassed = testsPassed
    }
}

public struct Validation: Codable, Sendable {
    public var valid: Bool
    public var diagnostics: [DiagnosticRecord]
    public var testsPassed: Int
    public var testFailures: [String]
    public init(valid: Bool, diagnostics: [DiagnosticRecord], testsPassed: Int, testFailures: [String]) {
        self.valid = valid
        self.diagnostics = diagnostics
        self.testsPassed = testsPassed
        self.testFailures = testFailures
    }
}

public struct WorkloadsPage: Codable, Sendable {
    public var generation: Int64
    public var workloads: [Workload]
    public init(generation: Int64, workloads: [Workload]) {
        self.generation = generation
        self.workloads = workloads
    }
}

public struct AuditPage: Codable, Sendable {
    public var records: [AuditRecord]
    /// Pass as `after` for the next page; absent on the last page.
    public var next: Int64?
    public init(records: [AuditRecord], next: Int64?) {
        self.records = records
        self.next = next
    }
}

public struct AuditHead: Codable, Sendable {
    public var seq: Int64
    public var hash: String
    public init(seq: Int64, hash: String) {
        self.seq = seq
        self.hash = hash
    }
}

public struct TokensPage: Codable, Sendable {
    public var tokens: [TokenRecord]
    public init(tokens: [TokenRecord]) { self.tokens = tokens }
}

public struct CreatedToken: Codable, Sendable {
    public var id: String
    public var name: String
    public var role: Role
    /// Shown once: only its hash is stored.
    public var token: String
    public var expiresAt: Int64?
    public init(id: String, name: String, role: Role, token: String, expiresAt: Int64? = nil) {
        self.id = id
        self.name = name
        self.role = role
        self.token = token
        self.expiresAt = expiresAt
    }
}
