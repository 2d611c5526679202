import EgressAPI
import PolicyLang

/// A record waiting for the audit writer. A decision waits as a small event
/// that shares what the snapshot already holds (the workload's identity, its
/// labels as JSON, the rule); its row is built on the writer's thread. That
/// keeps a burst's backlog a quarter of the size, and the work off the
/// event loops.
struct PendingAudit: Sendable {
    private enum Content: Sendable {
        /// Boxed: an enum is as large as its largest case, and a full record
        /// is four times a decision event. Access records are the rare kind.
        indirect case record(AuditRecord, labelsJSON: String?)
        case decision(DecisionEvent)
    }

    private let content: Content

    init(_ record: AuditRecord) {
        content = .record(record, labelsJSON: record.labels.map(JSONText.labels))
    }

    init(_ event: DecisionEvent) {
        content = .decision(event)
    }

    /// The record's columns, as the chain hashes them and the table stores them.
    func appendColumns(to row: inout AuditRow) {
        switch content {
        case .record(let record, let labels): AuditChain.appendColumns(of: record, labelsJSON: labels, to: &row)
        case .decision(let event): event.appendColumns(to: &row)
        }
    }
}

/// What the audit trail needs of one decision, in about a hundred bytes:
/// rules by their index into the (shared) rule table of the revision.
struct DecisionEvent: Sendable {
    let time: Int64
    let enforcer: String
    let sourceIP: String?
    let source: EncodedIdentity?
    let host: String
    let rules: RuleText
    let revision: Int64?
    let port: Int32
    /// Index into `rules`, or -1 when no rule matched.
    let rule: Int32
    let dryRunRule: Int32
    let verdict: Verdict
    let dryRunVerdict: Verdict

    init(
        time: Int64, enforcer: String, sourceIP: String?, source: EncodedIdentity?, host: String, port: Int,
        decision: Decision, rules: RuleText, revision: Int64?
    ) {
        self.time = time
        self.enforcer = enforcer
        self.sourceIP = sourceIP
        self.source = source
        self.host = host
        self.rules = rules
        self.revision = revision
        self.port = Int32(port)
        rule = decision.rule.map { Int32($0.index) } ?? -1
        dryRunRule = decision.dryRunRule.map { Int32($0.index) } ?? -1
        verdict = decision.verdict
        dryRunVerdict = decision.dryRunVerdict
    }

    /// The columns of the decision's record from `time` to `count`,
    /// in table order: the same list as `AuditChain.appendColumns(of:)`
    /// gives for the record read back, or the chain would not verify.
    func appendColumns(to row: inout AuditRow) {
        let identity = source?.identity
        let dryRunDiffers = dryRunVerdict != verdict || dryRunRule != rule
        row.integer(time)
        row.text(AuditRecord.Kind.decision.rawValue)
        row.text(enforcer)
        row.text(sourceIP)
        row.text(identity?.namespace)
        row.text(identity?.serviceAccount)
        row.text(identity?.pod)
        row.text(identity?.spiffe)
        row.text(source?.labelsJSON)
        row.text(host)
        row.integer(Int64(port))
        row.text(verdict.rawValue)
        row.text(rule >= 0 ? rules.locations[Int(rule)] : nil)
        row.text(rule >= 0 ? rules.names[Int(rule)] : nil)
        row.integer(revision)
        row.text(dryRunDiffers ? dryRunVerdict.rawValue : nil)
        row.text(dryRunDiffers && dryRunRule >= 0 ? rules.locations[Int(dryRunRule)] : nil)
        for _ in 0..<3 { row.text(nil) }  // reason, original_destination, upstream
        row.flag(nil)  // cached
        for _ in 0..<3 { row.integer(nil) }  // bytes_up, bytes_down, duration_ms
        row.laterColumns(count: nil, method: nil, path: nil, status: nil, queryType: nil)
    }
}
