import EgressAPI
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import PolicyLang

/// Answers decisions from the current snapshot, records each in the audit
/// trail, and tells watchers when the snapshot changes.
public final class DecisionEngine: Sendable {
    public struct TTL: Sendable {
        public var allow: Int
        public var deny: Int
        public init(allow: Int, deny: Int) {
            self.allow = allow
            self.deny = deny
        }
    }

    private let current = NIOLockedValueBox(DecisionSnapshot.empty)
    let ttl: TTL
    let audit: AuditWriter
    let metrics: PDPMetrics
    let watchers: WatchHub

    init(ttl: TTL, audit: AuditWriter, metrics: PDPMetrics) {
        self.ttl = ttl
        self.audit = audit
        self.metrics = metrics
        watchers = WatchHub(metrics: metrics)
    }

    public var snapshot: DecisionSnapshot { current.withLockedValue { $0 } }

    var watchState: WatchEvent {
        let s = snapshot
        return WatchEvent(event: .hello, revision: s.revision, inventoryGeneration: s.inventoryGeneration)
    }

    /// Installs a compiled revision; the next decision uses it.
    func install(index: PolicyIndex, revision: Int64) {
        let next = current.withLockedValue { snapshot in
            snapshot = DecisionSnapshot(
                revision: revision, index: index, inventoryGeneration: snapshot.inventoryGeneration,
                byIP: snapshot.byIP, bySpiffe: snapshot.bySpiffe)
            return snapshot
        }
        metrics.activeRevision.set(to: Double(revision))
        watchers.publish(WatchEvent(event: .revision, revision: revision, inventoryGeneration: next.inventoryGeneration))
    }

    /// Installs a new inventory; the next decision uses it.
    func install(workloads: [Workload], generation: Int64) {
        let table = DecisionSnapshot.Tables(workloads)
        let next = current.withLockedValue { snapshot in
            snapshot = DecisionSnapshot(
                revision: snapshot.revision, index: snapshot.index, inventoryGeneration: generation,
                byIP: table.byIP, bySpiffe: table.bySpiffe)
            return snapshot
        }
        watchers.publish(WatchEvent(event: .inventory, revision: next.revision, inventoryGeneration: generation))
    }

    /// Decides one request and writes the JSON answer into `out`, piece by
    /// piece, without building a string first. The audit record goes to
    /// `audit`, the caller's burst, with its room in the writer's backlog
    /// reserved: the caller submits the burst (`AuditWriter.submit`) at the
    /// end of the read, and the answer does not wait for the disk. Throws
    /// `AuditWriter.BacklogFull` when there is no room: a decision that
    /// would go unrecorded is not given.
    func decide(
        _ request: DecisionRequest, enforcer: String, now: Int64 = nowMilliseconds(), into out: inout ByteBuffer,
        audit burst: inout [PendingAudit]
    ) throws {
        guard audit.reserve(1) else { throw AuditWriter.BacklogFull(backlog: audit.maxBacklog) }
        let started = ContinuousClock.now
        let snapshot = self.snapshot
        let entry: DecisionSnapshot.Entry?
        var sourceIP: String?
        switch request.source {
        case .unknown:
            entry = nil
        case .ip(let ip):
            sourceIP = ip
            entry = snapshot.byIP[ip]
        case .spiffe(let id):
            // A verified SPIFFE ID that the inventory does not hold still
            // identifies the source for `spiffe:` selectors.
            entry = snapshot.bySpiffe[id] ?? DecisionSnapshot.Entry(SourceIdentity(spiffe: id))
        case .asserted(let asserted):
            entry = DecisionSnapshot.Entry(asserted)
        }
        let identity = entry?.identity
        let identityJSON = entry?.json ?? "null"
        let host = Self.normalize(request.host)
        let decision = snapshot.index.decide(source: identity, host: host, port: request.port)
        let revision = snapshot.revision
        out.writeStaticString(decision.verdict == .allow ? "{\"verdict\":\"allow\",\"rule\":" : "{\"verdict\":\"deny\",\"rule\":")
        out.writeString(decision.rule.map { snapshot.ruleLocations[$0.index] } ?? "null")
        out.writeStaticString(",\"name\":")
        out.writeString(decision.rule.map { snapshot.ruleNames[$0.index] } ?? "null")
        out.writeStaticString(
            decision.dryRunVerdict == .allow ? ",\"dryRunVerdict\":\"allow\",\"dryRunRule\":" : ",\"dryRunVerdict\":\"deny\",\"dryRunRule\":")
        out.writeString(decision.dryRunRule.map { snapshot.ruleLocations[$0.index] } ?? "null")
        out.writeStaticString(",\"revision\":")
        out.writeString(revision.map(String.init) ?? "null")
        out.writeStaticString(",\"ttl\":")
        out.writeString(String(decision.verdict == .allow ? ttl.allow : ttl.deny))
        out.writeStaticString(",\"source\":")
        out.writeString(identityJSON)
        out.writeStaticString("}")

        burst.append(
            PendingAudit(
                DecisionEvent(
                    time: now, enforcer: enforcer, sourceIP: sourceIP, source: entry, host: host, port: request.port,
                    decision: decision, rules: snapshot.ruleText, revision: revision)))
        (decision.verdict == .allow ? metrics.allowed : metrics.denied).increment()
        metrics.latency.record(ContinuousClock.now - started)
    }

    /// Host names compare in lower case without a trailing dot, as patterns do.
    static func normalize(_ host: String) -> String {
        var host = host
        if host.utf8.contains(where: { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }) { host = host.lowercased() }
        if host.hasSuffix(".") { host.removeLast() }
        return host
    }
}

extension DecisionEngine {
    /// Audit records for reported connections, with each source resolved in
    /// the inventory as it is now: an enforcer reports addresses, not identities.
    /// A report that says records were dropped also leaves one `dropped`
    /// record per verdict with the count, so the gap shows in the trail.
    func accessRecords(_ report: AccessReport, enforcer: String) -> [AuditRecord] {
        let snapshot = self.snapshot
        let now = nowMilliseconds()
        metrics.accessReported.increment(by: Int64(report.connections.count))
        var gaps: [AuditRecord] = []
        if let dropped = report.dropped {
            for (verdict, count) in [("allow", dropped.allowed), ("deny", dropped.refused)] where count > 0 {
                gaps.append(
                    AuditRecord(
                        time: dropped.first, kind: .dropped, enforcer: enforcer, host: "", port: 0, verdict: verdict,
                        reason: "report-buffer-full", durationMs: max(0, dropped.last - dropped.first), count: count))
            }
        }
        return gaps + report.connections.map { c in
            let ip = IPAddressText.normalize(c.sourceIP) ?? c.sourceIP
            let identity = snapshot.byIP[ip]?.identity
            return AuditRecord(
                time: c.time ?? now, kind: .access, enforcer: enforcer, sourceIP: ip, namespace: identity?.namespace,
                serviceAccount: identity?.serviceAccount, pod: identity?.pod, spiffe: identity?.spiffe,
                labels: identity?.labels, host: Self.normalize(c.host), port: c.port, verdict: c.verdict, rule: c.rule,
                ruleName: c.ruleName, revision: c.revision,
                reason: c.reason, originalDestination: c.originalDestination, upstream: c.upstream, cached: c.cached, bytesUp: c.bytesUp, bytesDown: c.bytesDown, durationMs: c.durationMs)
        }
    }
}
