import EgressAPI
import PDP
import Testing

/// The chain's hashed bytes are documented (docs/pdp.md, "The hash chain")
/// so that anyone can verify an exported trail. The expected hash here was
/// computed from that description alone (Python's hashlib over the
/// length-prefixed fields), not with this code.
struct AuditChainTests {
    @Test func aRecordHashesAsDocumented() {
        let record = AuditRecord(
            time: 1_795_738_498_766, kind: .access, enforcer: "token:node-1", sourceIP: "198.18.0.5", namespace: "shop",
            pod: "web-1", labels: ["app": "checkout"], host: "api.stripe.com", port: 443, verdict: "allow",
            rule: "10-apps.egress:21", revision: 3, originalDestination: "203.0.113.9:443", upstream: "198.51.100.7:443",
            cached: true, bytesUp: 1024, bytesDown: 2048, durationMs: 35)
        let hash = AuditChain.hash(record, labelsJSON: #"{"app":"checkout"}"#, seq: 7, previous: AuditChain.genesis)
        #expect(hash == "4208a349b57a2a94dab6526982bd57a5ee84671ceb05610c91469d0b7f879b2a")
    }

    /// `count` (schema v2) is hashed after `durationMs` when present; the
    /// record above, written without it, keeps its hash.
    @Test func aDroppedRecordHashesItsCountAsDocumented() {
        let record = AuditRecord(
            time: 1_795_737_300_003, kind: .dropped, enforcer: "token:node-1", host: "", port: 0, verdict: "deny",
            reason: "report-buffer-full", durationMs: 7, count: 41)
        let hash = AuditChain.hash(record, labelsJSON: nil, seq: 12, previous: AuditChain.genesis)
        #expect(hash == "ed80c46dfdab55b29249f539be1e2812459817edfea7687abee6980ae5bd7440")
        var other = record
        other.count = 42
        #expect(AuditChain.hash(other, labelsJSON: nil, seq: 12, previous: AuditChain.genesis) != hash)
        other.count = nil
        #expect(AuditChain.hash(other, labelsJSON: nil, seq: 12, previous: AuditChain.genesis) != hash)
    }

    /// `method`, `path`, `status` (schema v5, a request carried as HTTP):
    /// when any is present, `count` is hashed too (`-;` when absent), then
    /// the three. The hash was computed from docs/pdp.md with Python.
    @Test func aRequestRecordHashesItsMethodPathAndStatusAsDocumented() {
        var record = AuditRecord(
            time: 1_795_738_498_766, kind: .access, enforcer: "token:node-1", sourceIP: "198.18.0.5", namespace: "shop",
            pod: "web-1", labels: ["app": "checkout"], host: "api.example.com", port: 443, verdict: "allow",
            rule: "a.egress:1", revision: 3, upstream: "198.51.100.7:443", cached: false, bytesUp: 120, bytesDown: 5000,
            durationMs: 12)
        let withoutRequest = AuditChain.hash(record, labelsJSON: #"{"app":"checkout"}"#, seq: 9, previous: AuditChain.genesis)
        record.method = "GET"
        record.path = "/v1/items"
        record.status = 200
        let hash = AuditChain.hash(record, labelsJSON: #"{"app":"checkout"}"#, seq: 9, previous: AuditChain.genesis)
        #expect(hash == "1e326830088d2aa02daaf89f7d5364a38fd07166ef0fafdea7e929610c25c3b7")
        #expect(hash != withoutRequest)
        record.status = 404
        #expect(AuditChain.hash(record, labelsJSON: #"{"app":"checkout"}"#, seq: 9, previous: AuditChain.genesis) != hash)
    }

    @Test func everyFieldChangesTheHash() {
        let base = AuditRecord(time: 1, kind: .decision, enforcer: "e", host: "h", port: 443, verdict: "deny")
        let hash = AuditChain.hash(base, labelsJSON: nil, seq: 1, previous: AuditChain.genesis)
        var changed = base
        changed.port = 4430
        #expect(AuditChain.hash(changed, labelsJSON: nil, seq: 1, previous: AuditChain.genesis) != hash)
        // A missing field differs from an empty one.
        #expect(AuditChain.hash(base, labelsJSON: "", seq: 1, previous: AuditChain.genesis) != hash)
        #expect(AuditChain.hash(base, labelsJSON: nil, seq: 2, previous: AuditChain.genesis) != hash)
        #expect(AuditChain.hash(base, labelsJSON: nil, seq: -1, previous: AuditChain.genesis) != hash)
    }
}
