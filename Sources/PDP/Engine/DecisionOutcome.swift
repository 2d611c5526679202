import EgressAPI

/// What the engine makes of one decision request: the answer for the
/// enforcer, and the audit record that must be written for it to stand.
/// The record's room in the audit backlog is already reserved; whoever
/// takes the outcome hands the record to `AuditWriter.submit`.
struct DecisionOutcome {
    let answer: DecisionAnswer
    let audit: PendingAudit
}
