extension Parser {
    /// `*` or `TERM (, TERM)*`.
    mutating func parseSelector() throws -> Selector {
        if current.kind == .word, current.text == "*" {
            let star = advance()
            if current.kind == .comma {
                report(.syntax, star.span, "'*' stands alone as a selector; it cannot be combined with other terms")
                throw Abandon()
            }
            return .any
        }
        var terms: [SelectorTerm] = []
        repeat {
            if current.kind == .comma { _ = advance() }
            if let term = try parseTerm() { terms.append(term) }
        } while current.kind == .comma
        return .all(terms)
    }

    /// One selector term; `nil` (after a diagnostic) when it parses but is invalid.
    private mutating func parseTerm() throws -> SelectorTerm? {
        if current.kind == .bang {
            let bang = advance()
            let key = try expectWord("a label key after '!'")
            return checkedKey(key.text, bang.span.lowerBound..<key.span.upperBound).map { .labelAbsent($0) }
        }
        guard current.kind == .word, current.text != "*" else {
            try fail(expected: "a selector term (ns:NAME, sa:NAME, pod:NAME, spiffe:ID, a label or nslabel:KEY)")
        }
        let word = advance()
        switch current.kind {
        case .equals, .doubleEquals, .notEquals:
            let op = advance()
            guard current.kind == .word else {
                try fail(expected: "a label value after '\(op.text)'")
            }
            let value = advance()
            guard let key = checkedKey(word.text, word.span), checkedValue(value) else { return nil }
            return op.kind == .notEquals
                ? .labelNotEquals(key: key, value: value.text) : .labelEquals(key: key, value: value.text)
        case .word where current.text == "in" || current.text == "notin":
            let op = advance()
            guard current.kind == .openParen else { try fail(expected: "'(' after '\(op.text)'") }
            _ = advance()
            var values: [String] = []
            var valid = true
            repeat {
                if current.kind == .comma { _ = advance() }
                let value = try expectWord("a label value")
                valid = checkedValue(value) && valid
                values.append(value.text)
            } while current.kind == .comma
            guard current.kind == .closeParen else { try fail(expected: "',' or ')'") }
            _ = advance()
            guard let key = checkedKey(word.text, word.span), valid else { return nil }
            return op.text == "in" ? .labelIn(key: key, values: values) : .labelNotIn(key: key, values: values)
        default:
            return prefixedTerm(word)
        }
    }

    private mutating func prefixedTerm(_ word: Token) -> SelectorTerm? {
        guard let colon = word.text.firstIndex(of: ":") else {
            return checkedKey(word.text, word.span).map { .labelExists($0) }
        }
        let prefix = String(word.text[..<colon])
        let value = String(word.text[word.text.index(after: colon)...])
        let problem: String?
        let term: SelectorTerm
        switch prefix {
        case "ns":
            problem = KubernetesNames.checkLabel(value, what: "namespace")
            term = .namespace(value)
        case "sa":
            problem = KubernetesNames.checkSubdomain(value, what: "service account")
            term = .serviceAccount(value)
        case "pod":
            problem = KubernetesNames.checkSubdomain(value, what: "pod name", allowGlob: true)
            term = .pod(value)
        case "spiffe":
            problem = KubernetesNames.checkSPIFFE(value)
            term = .spiffe(value)
        case "nslabel":
            return checkedKey(word.text, word.span).map { .labelExists($0) }
        default:
            report(
                .invalidSelector, word.span,
                "unknown selector term '\(prefix):'; expected ns:, sa:, pod:, spiffe:, nslabel: or a label",
                help: ["namespace", "n"].contains(prefix) ? "write ns:\(value)"
                    : ["serviceaccount", "serviceAccount", "sa"].contains(prefix) ? "write sa:\(value)" : nil)
            return nil
        }
        if let problem {
            report(.invalidSelector, word.span, problem)
            return nil
        }
        return term
    }

    /// A label key, or `nslabel:` and a namespace label's key: checked by
    /// Kubernetes' rules for label keys, and kept with its prefix.
    private mutating func checkedKey(_ key: String, _ span: Range<Int>) -> String? {
        if let problem = KubernetesNames.checkLabelKey(SelectorTerm.namespaceLabel(key) ?? key) {
            report(.invalidSelector, span, problem)
            return nil
        }
        return key
    }

    private mutating func checkedValue(_ token: Token) -> Bool {
        if let problem = KubernetesNames.checkLabelValue(token.text) {
            report(.invalidSelector, token.span, problem)
            return false
        }
        return true
    }
}
