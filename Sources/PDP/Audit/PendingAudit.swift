import EgressAPI
import PolicyLang

/// A record waiting for the audit writer. A decision waits as a small event
/// that shares what the snapshot already holds (the workload's identity, its
/// labels as JSON, the rule); the full record is built on the writer's
/// thread. That keeps a burst's backlog a quarter of the size, and the work
/// off the event loops.
struct PendingAudit: Sendable {
    private enum Content: Sendable {
        case record(AuditRecord, labelsJSON: String?)
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
            let d = e.decision
            let dryRunDiffers = d.dryRunVerdict != d.verdict || d.dryRunRule != d.rule
            let record = AuditRecord(
                time: e.time, kind: .decision, enforcer: e.enforcer, sourceIP: e.sourceIP, namespace: identity?.namespace,
                serviceAccount: identity?.serviceAccount, pod: identity?.pod, spiffe: identity?.spiffe,
                labels: identity.map(\.labels), host: e.host, port: e.port, verdict: d.verdict.rawValue,
                rule: d.rule?.location, ruleName: d.rule?.name, revision: e.revision,
                dryRunVerdict: dryRunDiffers ? d.dryRunVerdict.rawValue : nil,
                dryRunRule: dryRunDiffers ? d.dryRunRule?.location : nil)
            return (record, e.source?.labelsJSON)
        }
    }
}

/// What the audit trail needs of one decision.
struct DecisionEvent: Sendable {
    let time: Int64
    let enforcer: String
    let sourceIP: String?
    let source: DecisionSnapshot.Entry?
    let host: String
    let port: Int
    let decision: Decision
    let revision: Int64?
}
