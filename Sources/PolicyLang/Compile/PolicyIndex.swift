/// A compiled policy set: immutable, `Sendable`, and fast to query.
///
/// A decision looks up the requested name in the host trie (cost: the depth of
/// the name), then checks port and selector only for the rules found there,
/// skipping any rule that could not change the outcome. It does not allocate.
///
/// A class: held by a snapshot and queried from another module, a struct was
/// copied for every decision (a retain and a release of each of its arrays;
/// about 2% of egress-pdp's event-loop time, perf).
public final class PolicyIndex: Sendable {
    /// Per rule, in policy order.
    public let rules: [RuleReference]
    private let selectors: [CompiledSelector]
    private let kinds: [RuleKind]
    private let trie: HostTrie

    private enum RuleKind: UInt8, Sendable {
        case allow, deny, dryRunAllow, dryRunDeny
    }

    init(_ set: PolicySet) {
        rules = set.rules.map {
            RuleReference(index: $0.index, file: $0.file.path, line: $0.line, name: $0.rule.name, effect: $0.rule.effect, dryRun: $0.rule.dryRun)
        }
        selectors = set.rules.map { CompiledSelector($0.rule.selector) }
        kinds = set.rules.map {
            switch ($0.rule.effect, $0.rule.dryRun) {
            case (.allow, false): return .allow
            case (.deny, false): return .deny
            case (.allow, true): return .dryRunAllow
            case (.deny, true): return .dryRunDeny
            }
        }
        trie = HostTrie(set.rules.flatMap { rule in rule.hosts.map { ($0.pattern, $0.ports, rule.index) } })
    }

    /// Number of trie nodes, for diagnostics and benchmarks.
    public var hostNodeCount: Int { trie.nodeCount }

    /// The first matching rule of each kind seen so far (`Int32.max`: none).
    private struct Winners {
        var deny = Int32.max
        var allow = Int32.max
        /// Counting dry-run rules as enforced.
        var anyDeny = Int32.max
        var anyAllow = Int32.max
    }

    /// The port of a question about a name alone: whether a source may
    /// reach it on some port (`decideAnyPort`). No rule names port 0.
    public static let anyPort = 0

    /// Decides whether `source` (`nil`: no known identity) may reach
    /// `host:port`, or, for `anyPort`, `host` on some port.
    public func decide(source: SourceIdentity?, host: String, port: Int) -> Decision {
        if port == Self.anyPort { return decideAnyPort(source: source, host: host) }
        // A source of which nothing is known is an unknown source: it matches only `*`.
        let source = source?.isEmpty == false ? source : nil
        var winners = Winners()
        visit(host) { consider($0, source, port, &winners) }
        return decision(winners)
    }

    /// Decides whether `source` may reach `host` on some port: the question
    /// a DNS enforcer asks, as a name that resolves may then be used on any
    /// port. The verdict is **allow** when at least one port would be
    /// allowed (and names the rule that allows the lowest such port);
    /// otherwise **deny**, naming the deny rule that overrides an allow if
    /// one does, else default deny. The dry-run verdict is found the same
    /// way with the dry-run rules counted.
    ///
    /// The verdict only changes where a matching rule's port range starts
    /// or ends, so it is decided at those ports alone. Unlike `decide` it
    /// allocates (a few small arrays): egress-dns asks it once per source
    /// and name, and keeps the answer for its TTL.
    public func decideAnyPort(source: SourceIdentity?, host: String) -> Decision {
        let source = source?.isEmpty == false ? source : nil
        // The name is walked once: the entries whose selector matches are
        // kept, and each port below is decided over them alone.
        var matched: [HostTrie.Entry] = []
        var ports: [Int32] = [1]
        var allowStarts: [Int32] = []
        var dryAllowStarts: [Int32] = []
        visit(host) { entries in
            for entry in entries where selectors[Int(entry.rule)].matches(source) {
                matched.append(entry)
                // A pattern without a port is stored as 0-65535.
                let low = max(1, entry.portLow)
                ports.append(low)
                if entry.portHigh < 65535 { ports.append(entry.portHigh + 1) }
                switch kinds[Int(entry.rule)] {
                case .allow:
                    allowStarts.append(low)
                    dryAllowStarts.append(low)
                case .dryRunAllow: dryAllowStarts.append(low)
                case .deny, .dryRunDeny: break
                }
            }
        }
        let decisions = Set(ports).sorted().map { port in
            var winners = Winners()
            consider(matched, source, Int(port), &winners)
            return (port: port, decision: decision(winners))
        }
        func pick(_ verdict: (Decision) -> Verdict, _ rule: (Decision) -> RuleReference?, allowStarts: [Int32]) -> (Verdict, RuleReference?) {
            if let allowed = decisions.first(where: { verdict($0.decision) == .allow }) {
                return (.allow, rule(allowed.decision))
            }
            // Every port is denied. Where an allow rule starts, a deny rule overrode it.
            if let start = allowStarts.min(), let overridden = decisions.first(where: { $0.port == start }) {
                return (.deny, rule(overridden.decision))
            }
            // No allow rule matched: default deny, unless one deny rule covers every port.
            let rules = Set(decisions.map { rule($0.decision) })
            return (.deny, rules.count == 1 ? rules.first! : nil)
        }
        let (verdict, rule) = pick({ $0.verdict }, { $0.rule }, allowStarts: allowStarts)
        let (dryVerdict, dryRule) = pick({ $0.dryRunVerdict }, { $0.dryRunRule }, allowStarts: dryAllowStarts)
        return Decision(verdict: verdict, rule: rule, dryRunVerdict: dryVerdict, dryRunRule: dryRule)
    }

    /// Hands `body` the entries of `*` and of every pattern that may match `host`.
    @inline(__always)
    private func visit(_ host: String, _ body: (ArraySlice<HostTrie.Entry>) -> Void) {
        body(trie.anyEntries[...])
        var host = host
        let walked: Void? = host.utf8.withContiguousStorageIfAvailable { walk($0, body) }
        if walked == nil {
            host.makeContiguousUTF8()
            host.utf8.withContiguousStorageIfAvailable { walk($0, body) }
        }
    }

    private func reference(_ rule: Int32) -> RuleReference? {
        rule == Int32.max ? nil : rules[Int(rule)]
    }

    private func decision(_ w: Winners) -> Decision {
        let (verdict, rule): (Verdict, Int32) =
            w.deny != .max ? (.deny, w.deny) : w.allow != .max ? (.allow, w.allow) : (.deny, .max)
        let (dryVerdict, dryRule): (Verdict, Int32) =
            w.anyDeny != .max ? (.deny, w.anyDeny) : w.anyAllow != .max ? (.allow, w.anyAllow) : (.deny, .max)
        return Decision(verdict: verdict, rule: reference(rule), dryRunVerdict: dryVerdict, dryRunRule: reference(dryRule))
    }

    /// Looks the name up label by label, from the right. A requested host that
    /// is not a valid DNS name matches no pattern but `*`.
    private func walk(_ raw: UnsafeBufferPointer<UInt8>, _ body: (ArraySlice<HostTrie.Entry>) -> Void) {
        var length = raw.count
        if length > 0, raw[length - 1] == UInt8(ascii: ".") { length -= 1 }
        guard length > 0, length <= 253 else { return }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 256) { buffer in
            // Lower-case into the stack buffer and check the DNS alphabet.
            var labelStart = 0
            var lastLabelAllDigits = true
            for i in 0..<length {
                var byte = raw[i]
                if byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") { byte += 32 }
                buffer[i] = byte
                if byte == UInt8(ascii: ".") {
                    let labelLength = i - labelStart
                    if labelLength == 0 || labelLength > 63 || buffer[i - 1] == UInt8(ascii: "-") { return }
                    labelStart = i + 1
                    lastLabelAllDigits = true
                } else if HostPatternSyntax.isDNSByte(byte) {
                    if byte == UInt8(ascii: "-"), i == labelStart { return }
                    if byte < UInt8(ascii: "0") || byte > UInt8(ascii: "9") { lastLabelAllDigits = false }
                } else {
                    return
                }
            }
            let lastLength = length - labelStart
            if lastLength == 0 || lastLength > 63 || buffer[length - 1] == UInt8(ascii: "-") { return }
            // A name whose last label is all digits is an IPv4 literal, not a DNS name.
            if lastLabelAllDigits { return }

            let name = UnsafeBufferPointer(rebasing: buffer[0..<length])
            var node = 0
            var end = length
            while true {
                var start = end
                while start > 0, name[start - 1] != UInt8(ascii: ".") { start -= 1 }
                let next = trie.child(of: node, label: name[start..<end])
                if next < 0 { return }
                node = next
                if start == 0 {
                    body(trie.exactEntries(node))
                    return
                }
                body(trie.wildcardEntries(node))
                end = start - 1
            }
        }
    }

    @inline(__always)
    private func consider<C: Collection>(
        _ entries: C, _ source: SourceIdentity?, _ port: Int, _ w: inout Winners
    ) where C.Element == HostTrie.Entry {
        for entry in entries {
            let rule = entry.rule
            let kind = kinds[Int(rule)]
            // Skip rules that come after the winners they could replace.
            switch kind {
            case .deny: if rule >= w.deny && rule >= w.anyDeny { continue }
            case .allow: if rule >= w.allow && rule >= w.anyAllow { continue }
            case .dryRunDeny: if rule >= w.anyDeny { continue }
            case .dryRunAllow: if rule >= w.anyAllow { continue }
            }
            guard port >= Int(entry.portLow), port <= Int(entry.portHigh),
                selectors[Int(rule)].matches(source)
            else { continue }
            switch kind {
            case .deny:
                w.deny = min(w.deny, rule)
                w.anyDeny = min(w.anyDeny, rule)
            case .allow:
                w.allow = min(w.allow, rule)
                w.anyAllow = min(w.anyAllow, rule)
            case .dryRunDeny: w.anyDeny = min(w.anyDeny, rule)
            case .dryRunAllow: w.anyAllow = min(w.anyAllow, rule)
            }
        }
    }
}
