import EgressAPI
import Foundation

/// The hash chain over audit records: each record's hash covers the previous
/// record's hash and every field of the record, its sequence number included.
/// Editing, deleting or reordering a record changes every later hash; cutting
/// records off the end is caught by comparing with the head exported in logs
/// and metrics.
public enum AuditChain {
    /// The hash that precedes the first record ever written.
    public static let genesis = String(repeating: "0", count: 64)

    /// `labelsJSON` is the labels as stored: a JSON object with sorted keys.
    public static func hash(_ record: AuditRecord, labelsJSON: String?, seq: Int64, previous: String) -> String {
        var row = AuditRow()
        row.start(seq: seq, previous: previous.utf8)
        appendColumns(of: record, labelsJSON: labelsJSON, to: &row)
        return String(decoding: row.hash(), as: UTF8.self)
    }

    /// The record's columns from `time` to `status`, in table order.
    /// A decision waiting for the writer has the same list in
    /// `DecisionEvent.appendColumns`: the two must agree, or the chain of
    /// decisions would not verify (which the audit tests check).
    static func appendColumns(of record: AuditRecord, labelsJSON: String?, to row: inout AuditRow) {
        row.integer(record.time)
        row.text(record.kind.rawValue)
        row.text(record.enforcer)
        row.text(record.sourceIP)
        row.text(record.namespace)
        row.text(record.serviceAccount)
        row.text(record.pod)
        row.text(record.spiffe)
        row.text(labelsJSON)
        row.text(record.host)
        row.integer(Int64(record.port))
        row.text(record.verdict)
        row.text(record.rule)
        row.text(record.ruleName)
        row.integer(record.revision)
        row.text(record.dryRunVerdict)
        row.text(record.dryRunRule)
        row.text(record.reason)
        row.text(record.originalDestination)
        row.text(record.upstream)
        row.flag(record.cached)
        row.integer(record.bytesUp)
        row.integer(record.bytesDown)
        row.integer(record.durationMs)
        row.laterColumns(count: record.count, method: record.method, path: record.path, status: record.status, queryType: record.queryType)
    }
}
