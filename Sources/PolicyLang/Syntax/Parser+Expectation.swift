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
        func once(_ field: String?, _ what: String) throws {
            if field != nil {
                report(.syntax, span, "a workload has one \(what); it is given twice")
                throw Abandon()
            }
        }
        for term in terms {
            switch term {
            case .namespace(let name):
                try once(identity.namespace, "namespace")
                identity.namespace = name
            case .serviceAccount(let name):
                try once(identity.serviceAccount, "service account")
                identity.serviceAccount = name
            case .pod(let name) where !name.contains("*"):
                try once(identity.pod, "pod name")
                identity.pod = name
            case .spiffe(let id):
                try once(identity.spiffe, "SPIFFE ID")
                identity.spiffe = id
            case .labelEquals(let key, let value):
                if let label = SelectorTerm.namespaceLabel(key) {
                    try once(identity.namespaceLabels[label], "value for namespace label '\(label)'")
                    identity.namespaceLabels[label] = value
                } else {
                    try once(identity.labels[key], "value for label '\(key)'")
                    identity.labels[key] = value
                }
            default:
                report(
                    .syntax, span,
                    "a workload description names one concrete workload: use ns:, sa:, pod: (without '*'), spiffe:, key=value and nslabel:key=value, not '\(term)'")
                throw Abandon()
            }
        }
        return identity.isEmpty ? nil : identity
    }
}
