extension Parser {
    /// `expect allow|deny WORKLOAD -> HOST[:PORT]`, where WORKLOAD describes one
    /// concrete source: `*` for no known identity, or `ns:`, `sa:`, `pod:`,
    /// `spiffe:` and `key=value` terms.
    mutating func parseExpectation(start: Int) throws -> Expectation {
        _ = advance()
        guard current.kind == .word, let verdict = Verdict(rawValue: current.text) else {
            try fail(expected: "'allow' or 'deny' after 'expect'")
        }
        _ = advance()
        let sourceStart = current.span.lowerBound
        let selector = try parseSelector()
        let source = try workload(from: selector, span: sourceStart..<current.span.lowerBound)
        guard current.kind == .arrow else { try fail(expected: "',' or '->'") }
        _ = advance()
        let hostToken = try expectWord("a host name")
        var host = Substring(hostToken.text)
        var port = 443
        if let colon = host.lastIndex(of: ":"), !host.hasSuffix("]") || host.contains("]:") {
            let portText = host[host.index(after: colon)...]
            guard let value = Int(portText), (1...65535).contains(value) else {
                report(.invalidPort, hostToken.span, "expected a port in 1-65535 after ':', found '\(portText)'")
                throw Abandon()
            }
            port = value
            host = host[..<colon]
        }
        return Expectation(verdict: verdict, source: source, host: String(host), port: port, span: start..<hostToken.span.upperBound)
    }

    mutating func workload(from selector: Selector, span: Range<Int>) throws -> SourceIdentity? {
        guard case .all(let terms) = selector else { return nil }
        var identity = SourceIdentity()
        for term in terms {
            switch term {
            case .namespace(let name): identity.namespace = name
            case .serviceAccount(let name): identity.serviceAccount = name
            case .pod(let name) where !name.contains("*"): identity.pod = name
            case .spiffe(let id): identity.spiffe = id
            case .labelEquals(let key, let value): identity.labels[key] = value
            default:
                report(
                    .syntax, span,
                    "a test describes one concrete workload: use ns:, sa:, pod: (without '*'), spiffe: and key=value, not '\(term)'")
                throw Abandon()
            }
        }
        return identity.isEmpty ? nil : identity
    }
}
