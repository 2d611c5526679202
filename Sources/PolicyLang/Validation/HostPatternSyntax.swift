/// Checks and normalizes host patterns (`invalid-host`) and port specs
/// (`invalid-port`) as the spec defines them.
enum HostPatternSyntax {
    struct Problem: Error, Equatable {
        let message: String
        let help: String?
    }

    /// Lower-cases ASCII letters and drops one trailing dot.
    static func normalize(_ text: Substring) -> String {
        var text = text
        if text.hasSuffix(".") { text = text.dropLast() }
        return String(decoding: text.utf8.map(asciiLowercased), as: UTF8.self)
    }

    static func asciiLowercased(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte + 32 : byte
    }

    static func parse(_ text: Substring) -> Result<HostPattern, Problem> {
        if text.isEmpty {
            return .failure(Problem(message: "expected a host name", help: nil))
        }
        if text == "*" { return .success(.any) }
        if text.unicodeScalars.contains("\u{FFFD}") {
            return .failure(Problem(message: "host pattern '\(text)' holds bytes that are not valid UTF-8", help: nil))
        }
        if text.utf8.contains(where: { $0 >= 0x80 }) {
            // Punycode encoding is quadratic in a label's length; a name too
            // long to be valid gets the plain message without the hint.
            let tooLong = text.utf8.count > 253 || text.split(separator: ".").contains { $0.utf8.count > 63 }
            if tooLong {
                return .failure(
                    Problem(message: "host pattern is not ASCII and longer than a DNS name can be", help: nil))
            }
            let ascii = Punycode.toASCII(String(text))
            return .failure(
                Problem(
                    message: "host pattern '\(text)' is not ASCII; write it in punycode as '\(ascii)'",
                    help: "use '\(ascii)'"))
        }
        if text.hasPrefix("*.") {
            let suffix = text.dropFirst(2)
            if suffix.contains("*") { return .failure(misplacedWildcard(text)) }
            if suffix.isEmpty || suffix == "." {
                return .failure(Problem(message: "expected a domain after '*.'", help: nil))
            }
            let name = checkName(suffix)
            // Measured after normalizing, so a trailing dot does not count.
            if case .success(let normal) = name, normal.utf8.count + 2 > 253 {
                return .failure(
                    Problem(message: "host pattern is \(normal.utf8.count + 2) characters long; at most 253 are allowed", help: nil))
            }
            if case .success(let normal) = name, Self.endsInDigits(normal) {
                return .failure(
                    Problem(
                        message: "'\(text)' can never match: a requested name whose last label is all digits is an IP address",
                        help: nil))
            }
            return name.map { .wildcard(suffix: $0) }
        }
        if text.contains("*") { return .failure(misplacedWildcard(text)) }
        let name = checkName(text)
        if case .success(let normal) = name, Self.endsInDigits(normal) {
            return .failure(
                Problem(
                    message: "'\(text)' is an IP address; rules match the names clients ask for (SNI), never addresses",
                    help: "name the host instead; a request for a bare IP address matches only '*'"))
        }
        return name.map { .exact($0) }
    }

    private static func misplacedWildcard(_ text: Substring) -> Problem {
        let labels = text.split(separator: ".", omittingEmptySubsequences: true)
            .map { $0.filter { $0 != "*" } }
            .filter { !$0.isEmpty }
        let suggestion = labels.isEmpty ? "*" : "*." + labels.joined(separator: ".")
        return Problem(
            message: "'*' in '\(text)' is not allowed there",
            help: "a wildcard may only stand alone as the first label, as in \(suggestion)")
    }

    /// Validates a DNS name (without wildcard) and returns its normal form.
    static func checkName(_ text: Substring) -> Result<String, Problem> {
        let name = normalize(text)
        if name.utf8.count > 253 {
            return .failure(Problem(message: "host name is \(name.utf8.count) characters long; at most 253 are allowed", help: nil))
        }
        for label in name.split(separator: ".", omittingEmptySubsequences: false) {
            if label.isEmpty {
                return .failure(Problem(message: "host name '\(text)' has an empty label", help: nil))
            }
            if label.utf8.count > 63 {
                return .failure(
                    Problem(message: "label '\(label)' is \(label.utf8.count) characters long; at most 63 are allowed", help: nil))
            }
            if let bad = label.utf8.first(where: { !isDNSByte($0) }) {
                return .failure(
                    Problem(
                        message: "host name '\(text)' contains '\(Character(Unicode.Scalar(bad)))'; a label holds only letters, digits and '-'",
                        help: nil))
            }
            if label.hasPrefix("-") || label.hasSuffix("-") {
                return .failure(Problem(message: "label '\(label)' starts or ends with '-'", help: nil))
            }
        }
        return .success(name)
    }

    /// Whether the last label is all digits: no top-level domain is, so such
    /// a name is an IPv4 address (the evaluator treats requests the same way).
    static func endsInDigits(_ name: String) -> Bool {
        name.split(separator: ".").last.map { $0.allSatisfy(\.isASCIIDigit) } ?? false
    }

    static func isDNSByte(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
            || byte == UInt8(ascii: "-")
    }

    /// Parses `N` or `LOW-HIGH` (the part after `:`).
    static func parsePorts(_ text: Substring) -> Result<PortRange, Problem> {
        let parts = text.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        var bounds: [Int] = []
        for part in parts {
            guard !part.isEmpty, part.count <= 6, part.allSatisfy(\.isASCIIDigit), let value = Int(part) else {
                return .failure(
                    Problem(message: "expected a port number or LOW-HIGH range after ':', found '\(text)'", help: nil))
            }
            guard (1...65535).contains(value) else {
                return .failure(Problem(message: "port \(value) is outside 1-65535", help: nil))
            }
            bounds.append(value)
        }
        guard let low = bounds.first, let high = bounds.last else {
            return .failure(Problem(message: "expected a port number or LOW-HIGH range after ':'", help: nil))
        }
        let range = PortRange(low: low, high: high)
        if range.low > range.high {
            return .failure(
                Problem(message: "port range \(text) is empty", help: "write the lower port first: \(range.high)-\(range.low)"))
        }
        return .success(range)
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
