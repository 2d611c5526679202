import EgressAPI

/// A record waiting for the audit writer, with its labels already as the
/// JSON text the table stores and the chain hashes: a decision takes that
/// text from the inventory snapshot instead of encoding it again.
struct PendingAudit: Sendable {
    var record: AuditRecord
    var labelsJSON: String?

    init(_ record: AuditRecord, labelsJSON: String?) {
        self.record = record
        self.labelsJSON = labelsJSON
    }

    init(_ record: AuditRecord) {
        self.init(record, labelsJSON: record.labels.map(JSONText.labels))
    }
}
