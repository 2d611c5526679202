import EgressAPI
import PolicyLang

/// A record waiting for the audit writer. A decision waits as a small event
/// that shares what the snapshot already holds (the workload's identity, its
/// labels as JSON, the rule); the full record is built on the writer's
/// thread. That keeps a burst's backlog a quarter of the size, and the work
/// off the event loops.
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

    /// The record as stored, and its labels as the JSON text the table holds
    /// and the chain hashes.
    func expanded() -> (record: AuditRecord, labelsJSON: String?) {
        switch content {
        case .record(let record, let labels):
            return (record, labels)
        case .decision(let e):
            let identity = e.source?.identity
            let rule = e.rule >= 0 ? Int(e.rule) : nil
            let dryRunRule = e.dryRunRule >= 0 ? Int(e.dryRunRule) : nil
            let dryRunDiffers = e.dryRunVerdict != e.verdict || e.dryRunRule != e.rule
            let record = AuditRecord(
                time: e.time, kind: .decision, enforcer: e.enforcer, sourceIP: e.sourceIP, namespace: identity?.namespace,
                serviceAccount: identity?.serviceAccount, pod: identity?.pod, spiffe: identity?.spiffe,
                labels: identity.map(\.labels), host: e.host, port: Int(e.port), verdict: e.verdict.rawValue,
                rule: rule.map { e.rules.locations[$0] }, ruleName: rule.flatMap { e.rules.names[$0] }, revision: e.revision,
                dryRunVerdict: dryRunDiffers ? e.dryRunVerdict.rawValue : nil,
                dryRunRule: dryRunDiffers ? dryRunRule.map { e.rules.locations[$0] } : nil)
            return (record, e.source?.labelsJSON)
        }
    }
}

/// What the audit trail needs of one decision, in about a hundred bytes:
/// rules by their index into the (shared) rule table of the revision.
struct DecisionEvent: Sendable {
    let time: Int64
    let enforcer: String
    let sourceIP: String?
    let source: DecisionSnapshot.Entry?
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
        time: Int64, enforcer: String, sourceIP: String?, source: DecisionSnapshot.Entry?, host: String, port: Int,
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
}
