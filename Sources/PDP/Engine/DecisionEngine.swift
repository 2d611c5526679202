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

    /// Installs a new inventory, as `InventoryTables` keeps it; the next
    /// decision uses it.
    func install(byIP: [String: EncodedIdentity], bySpiffe: [String: EncodedIdentity], generation: Int64) {
        let next = current.withLockedValue { snapshot in
            snapshot = DecisionSnapshot(
                revision: snapshot.revision, index: snapshot.index, inventoryGeneration: generation,
                byIP: byIP, bySpiffe: bySpiffe, ruleText: snapshot.ruleText)
            return snapshot
        }
        watchers.publish(WatchEvent(event: .inventory, revision: next.revision, inventoryGeneration: generation))
    }

    /// Decides one request. The answer is for the enforcer; the audit record
    /// is for the caller's burst, with its room in the writer's backlog
    /// already reserved: the caller submits the burst (`AuditWriter.submit`)
    /// at the end of the read, and the answer does not wait for the disk.
    /// Throws `AuditWriter.BacklogFull` when there is no room: a decision
    /// that would go unrecorded is not given.
    func decide(_ request: DecisionRequest, enforcer: String, now: Int64 = nowMilliseconds()) throws -> DecisionOutcome {
        guard audit.reserve(1) else { throw AuditWriter.BacklogFull(backlog: audit.maxBacklog) }
        let started = ContinuousClock.now
        let snapshot = self.snapshot
        let entry: EncodedIdentity?
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
            entry = snapshot.bySpiffe[id] ?? EncodedIdentity(SourceIdentity(spiffe: id))
        case .asserted(let asserted):
            entry = EncodedIdentity(asserted)
        }
        let host = Self.normalize(request.host)
        let decision = snapshot.index.decide(source: entry?.identity, host: host, port: request.port)
        let rules = snapshot.ruleText
        let answer = DecisionAnswer(
            verdict: decision.verdict == .allow ? .allow : .deny,
            rule: decision.rule.map { rules.locations[$0.index] }, name: decision.rule.flatMap { rules.names[$0.index] },
            dryRunVerdict: decision.dryRunVerdict == .allow ? .allow : .deny,
            dryRunRule: decision.dryRunRule.map { rules.locations[$0.index] }, revision: snapshot.revision,
            ttl: decision.verdict == .allow ? ttl.allow : ttl.deny, source: entry)
        let record = PendingAudit(
            DecisionEvent(
                time: now, enforcer: enforcer, sourceIP: sourceIP, source: entry, host: host, port: request.port,
                decision: decision, rules: rules, revision: snapshot.revision))
        (decision.verdict == .allow ? metrics.allowed : metrics.denied).increment()
        metrics.latency.record(ContinuousClock.now - started)
        return DecisionOutcome(answer: answer, audit: record)
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
            var record = AuditRecord(
                time: c.time ?? now, kind: .access, enforcer: enforcer, sourceIP: ip, namespace: identity?.namespace,
                serviceAccount: identity?.serviceAccount, pod: identity?.pod, spiffe: identity?.spiffe,
                labels: identity?.labels, host: Self.normalize(c.host), port: c.port, verdict: c.verdict, rule: c.rule,
                ruleName: c.ruleName, revision: c.revision,
                reason: c.reason, originalDestination: c.originalDestination, upstream: c.upstream, cached: c.cached, bytesUp: c.bytesUp, bytesDown: c.bytesDown, durationMs: c.durationMs)
            record.method = c.method
            record.path = c.path
            record.status = c.status
            record.queryType = c.queryType
            record.count = c.count
            return record
        }
    }
}
