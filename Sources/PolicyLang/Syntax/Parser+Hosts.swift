extension Parser {
    /// `HOST (, HOST)*` where HOST is `pattern[:PORT[-PORT]]` or `$NAME`.
    mutating func parseHostItems(allowReferences: Bool) throws -> [HostItem] {
        var items: [HostItem] = []
        repeat {
            if current.kind == .comma { _ = advance() }
            let token = try expectWord(items.isEmpty ? "a host pattern" : "a host pattern after ','")
            if let item = hostItem(token, allowReferences: allowReferences) { items.append(item) }
        } while current.kind == .comma
        return items
    }

    private mutating func hostItem(_ token: Token, allowReferences: Bool) -> HostItem? {
        let text = Substring(token.text)
        if text.hasPrefix("$") {
            let name = text.dropFirst()
            guard allowReferences else {
                report(.syntax, token.span, "a host list cannot use another host list ('\(text)')", help: "list its hosts here")
                return nil
            }
            guard Parser.isValidName(String(name)) else {
                report(.syntax, token.span, "expected a host list name after '$', found '\(text)'")
                return nil
            }
            return .reference(String(name), span: token.span)
        }
        let colon = text.firstIndex(of: ":")
        let patternText = colon.map { text[..<$0] } ?? text
        let patternSpan = token.span.lowerBound..<(token.span.lowerBound + patternText.utf8.count)
        var valid = true
        var pattern = HostPattern.any
        switch HostPatternSyntax.parse(patternText) {
        case .success(let parsed): pattern = parsed
        case .failure(let problem):
            report(.invalidHost, patternSpan, problem.message, help: problem.help)
            valid = false
        }
        var ports: PortRange?
        if let colon {
            let portText = text[text.index(after: colon)...]
            let portSpan = patternSpan.upperBound + 1..<token.span.upperBound
            switch HostPatternSyntax.parsePorts(portText) {
            case .success(let range): ports = range
            case .failure(let problem):
                report(.invalidPort, portText.isEmpty ? patternSpan.upperBound..<token.span.upperBound : portSpan,
                       problem.message, help: problem.help)
                valid = false
            }
        }
        return valid ? .pattern(pattern, ports: ports, span: token.span) : nil
    }
}
