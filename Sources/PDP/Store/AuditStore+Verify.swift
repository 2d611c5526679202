import EgressAPI
import GRDB
import PolicyLang

extension PDPDatabase {
    /// Walks the chain from the anchor, recomputes every hash, and reports
    /// every break, not only the first. `expectedHeads` are heads known from
    /// elsewhere (the writer's, or one an operator anchored outside): a
    /// trail that does not hold them was cut short, emptied or rewritten,
    /// even if what is left links up.
    /// `stopWhen` is asked every 4,096 records; when it says so the walk
    /// ends with `LintBudget.Exhausted` (its client left, the service stops).
    func verifyAudit(
        expectedHeads: [(seq: Int64, hash: String)] = [], stopWhen: () -> Bool = { false }
    ) throws -> AuditVerification {
        try pool.read { db in
            var walk = ChainWalk()
            var anchor: (seq: Int64, hash: String)?
            if let row = try Row.fetchOne(db, sql: "SELECT seq, hash FROM audit_anchor WHERE id = 1") {
                let found = (seq: try row.decode(Int64.self, forColumn: "seq"), hash: try row.decode(String.self, forColumn: "hash"))
                anchor = found
                walk.previous = found.hash
                walk.expectedSeq = found.seq + 1
            }
            walk.watched = Set(expectedHeads.map(\.seq))
            let cursor = try Row.fetchCursor(db, sql: "SELECT * FROM audit ORDER BY seq")
            while let row = try cursor.next() {
                walk.check(row)
                if walk.count & 4095 == 0, stopWhen() { throw LintBudget.Exhausted(cancelled: true) }
            }
            for head in expectedHeads { walk.checkReaches(head, anchor: anchor) }
            return AuditVerification(
                valid: walk.breaks.isEmpty, records: walk.count, firstSeq: walk.first, lastSeq: walk.last, head: walk.previous,
                brokenAt: walk.breaks.first?.seq, problem: walk.breaks.first?.problem, anchorSeq: anchor?.seq,
                anchorHash: anchor?.hash, breaks: walk.breaks, breakCount: walk.breakCount)
        }
    }
}

/// The state of one walk along the audit chain.
private struct ChainWalk {
    var previous = AuditChain.genesis
    var expectedSeq: Int64 = 1
    var count = 0
    var first: Int64?
    var last: Int64?
    var breaks: [AuditVerification.Break] = []
    var breakCount = 0
    /// The seqs of heads known from elsewhere, and their stored hashes once passed.
    var watched: Set<Int64> = []
    private var storedAtWatched: [Int64: String] = [:]

    mutating func broken(_ seq: Int64, _ problem: String) {
        breakCount += 1
        if breaks.count < AuditVerification.maxBreaks { breaks.append(.init(seq: seq, problem: problem)) }
    }

    mutating func check(_ row: Row) {
        let seq = (try? row.decode(Int64.self, forColumn: "seq")) ?? expectedSeq
        count += 1
        first = first ?? seq
        last = seq
        let record: AuditRecord
        let labels: String?
        do {
            record = try PDPDatabase.auditRecord(row)
            labels = try row.decode(String?.self, forColumn: "labels")
        } catch {
            broken(seq, "record \(seq) cannot be read (\(error)): it was changed")
            previous = (try? row.decode(String.self, forColumn: "hash")) ?? previous
            expectedSeq = seq + 1
            return
        }
        if seq > expectedSeq {
            broken(seq, expectedSeq == seq - 1 ? "record \(expectedSeq) is missing" : "records \(expectedSeq)-\(seq - 1) are missing")
        } else if seq < expectedSeq {
            broken(seq, "record \(seq) is out of order")
        } else if AuditChain.hash(record, labelsJSON: labels, seq: seq, previous: previous) != record.hash {
            broken(seq, "record \(seq) does not match its hash: it or the record before it was changed")
        }
        // The walk goes on from what is stored, so that each later record
        // is judged by its own link alone.
        previous = record.hash ?? previous
        expectedSeq = seq + 1
        if watched.contains(seq) { storedAtWatched[seq] = record.hash }
    }

    /// Checks that the trail holds the head known from elsewhere.
    mutating func checkReaches(_ head: (seq: Int64, hash: String), anchor: (seq: Int64, hash: String)?) {
        guard head.seq > 0 else { return }
        if let anchor, anchor.seq >= head.seq {
            if anchor.seq == head.seq, anchor.hash != head.hash {
                broken(head.seq, "the anchor at record \(head.seq) has another hash than the head")
            }
            // Older than the anchor: retention dropped it, nothing to compare.
            return
        }
        guard let last, last >= head.seq else {
            return broken(
                head.seq,
                "the trail ends at record \(last.map(String.init) ?? "none") but the head is record \(head.seq): records were removed")
        }
        if let stored = storedAtWatched[head.seq], stored != head.hash {
            broken(head.seq, "record \(head.seq) has another hash than the head \(head.hash): the trail was rewritten")
        } else if storedAtWatched[head.seq] == nil {
            broken(head.seq, "record \(head.seq), the head, is missing")
        }
    }
}
