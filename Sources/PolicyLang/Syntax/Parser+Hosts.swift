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
        // Spans are byte offsets: find the colon in the file's bytes, since the
        // token's text may have had invalid UTF-8 repaired.
        let colonOffset = file.bytes[token.span].firstIndex(of: UInt8(ascii: ":"))
        let patternSpan = token.span.lowerBound..<(colonOffset ?? token.span.upperBound)
        let patternText = Substring(file.text(patternSpan))
        var valid = true
        var pattern = HostPattern.any
        switch HostPatternSyntax.parse(patternText) {
        case .success(let parsed): pattern = parsed
        case .failure(let problem):
            report(.invalidHost, patternSpan, problem.message, help: problem.help)
            valid = false
        }
        var ports: PortRange?
        if let colonOffset {
            let portSpan = colonOffset + 1..<token.span.upperBound
            let portText = Substring(file.text(portSpan))
            switch HostPatternSyntax.parsePorts(portText) {
            case .success(let range): ports = range
            case .failure(let problem):
                report(.invalidPort, portText.isEmpty ? colonOffset..<token.span.upperBound : portSpan,
                       problem.message, help: problem.help)
                valid = false
            }
        }
        return valid ? .pattern(pattern, ports: ports, span: token.span) : nil
    }
}
