import EgressAPI
import Crypto
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
        // One buffer, hashed once: this runs for every decision.
        var bytes: [UInt8] = []
        bytes.reserveCapacity(512)
        func field(_ text: String?) {
            // Length-prefixed, so that no two different records hash the same
            // text; a missing field differs from an empty one.
            guard let text else { return bytes.append(contentsOf: "-;".utf8) }
            bytes.append(contentsOf: String(text.utf8.count).utf8)
            bytes.append(UInt8(ascii: ":"))
            bytes.append(contentsOf: text.utf8)
        }
        func number(_ value: Int64?) { field(value.map(String.init)) }
        field(previous)
        number(seq)
        number(record.time)
        field(record.kind.rawValue)
        field(record.enforcer)
        field(record.sourceIP)
        field(record.namespace)
        field(record.serviceAccount)
        field(record.pod)
        field(record.spiffe)
        field(labelsJSON)
        field(record.host)
        number(Int64(record.port))
        field(record.verdict)
        field(record.rule)
        field(record.ruleName)
        number(record.revision)
        field(record.dryRunVerdict)
        field(record.dryRunRule)
        field(record.reason)
        field(record.originalDestination)
        field(record.upstream)
        field(record.cached.map { $0 ? "1" : "0" })
        number(record.bytesUp)
        number(record.bytesDown)
        number(record.durationMs)
        return Hex.encode(SHA256.hash(data: bytes))
    }
}
