/// A problem found in a policy or test file. Diagnostics are values: the parser,
/// the resolver and the lint rules all produce them, and renderers turn them into
/// text, JSON, SARIF or GitHub annotations.
public struct Diagnostic: Sendable, Hashable {
    public enum Severity: String, Sendable, Hashable, Comparable {
        case error
        case warning

        public static func < (lhs: Severity, rhs: Severity) -> Bool {
            lhs == .error && rhs == .warning
        }
    }

    public let id: DiagnosticID
    public let severity: Severity
    public let file: SourceFile
    /// Byte range in `file`.
    public let span: Range<Int>
    /// What is wrong, and what was expected.
    public let message: String
    /// How to fix it, when that is obvious.
    public let help: String?

    public init(
        _ id: DiagnosticID, in file: SourceFile, at span: Range<Int>, _ message: String,
        help: String? = nil, severity: Severity? = nil
    ) {
        self.id = id
        self.severity = severity ?? id.defaultSeverity
        self.file = file
        self.span = span
        self.message = message
        self.help = help
    }

    public var location: SourceLocation { file.location(of: span.lowerBound) }

    /// `file:line:column: severity: message [id]`, the spec's text form.
    public var rendered: String {
        "\(file.path):\(location): \(severity.rawValue): \(message) [\(id.rawValue)]"
    }

    public static func == (lhs: Diagnostic, rhs: Diagnostic) -> Bool {
        lhs.id == rhs.id && lhs.file.path == rhs.file.path && lhs.span == rhs.span
            && lhs.message == rhs.message && lhs.help == rhs.help && lhs.severity == rhs.severity
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(id)
        hasher.combine(file.path)
        hasher.combine(span.lowerBound)
        hasher.combine(message)
    }
}

/// The stable ids of every diagnostic. They appear in output and in SARIF
/// `ruleId`s, so they never change once released.
public enum DiagnosticID: String, Sendable, Hashable, CaseIterable {
    case syntax
    case invalidHost = "invalid-host"
    case invalidSelector = "invalid-selector"
    case invalidPort = "invalid-port"
    case undefinedHosts = "undefined-hosts"
    case duplicateHosts = "duplicate-hosts"
    case shadowedRule = "shadowed-rule"
    case duplicateRule = "duplicate-rule"
    case broadHost = "broad-host"
    case allowAll = "allow-all"
    case unusedHosts = "unused-hosts"

    public var defaultSeverity: Diagnostic.Severity {
        switch self {
        case .syntax, .invalidHost, .invalidSelector, .invalidPort, .undefinedHosts, .duplicateHosts:
            return .error
        case .shadowedRule, .duplicateRule, .broadHost, .allowAll, .unusedHosts:
            return .warning
        }
    }

    /// One line describing the rule, for SARIF rule metadata and `--help`.
    public var summary: String {
        switch self {
        case .syntax: return "The text does not parse."
        case .invalidHost: return "A host pattern breaks the DNS name or wildcard rules."
        case .invalidSelector: return "A selector term breaks the Kubernetes syntax rules."
        case .invalidPort: return "A port is outside 1-65535 or a port range is empty."
        case .undefinedHosts: return "A $NAME host list reference has no definition."
        case .duplicateHosts: return "A host list name is defined twice."
        case .shadowedRule: return "A rule can never decide anything: other rules decide every request it matches."
        case .duplicateRule: return "The same rule appears twice."
        case .broadHost: return "A host pattern is '*' or a wildcard directly under a public suffix."
        case .allowAll: return "'allow * -> *' lets every workload reach every host."
        case .unusedHosts: return "A host list is defined but no rule uses it."
        }
    }
}
