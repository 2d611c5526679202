import Testing
@testable import PolicyLang

/// Parses one file as the CLI would read it.
func parse(_ text: String, path: String = "policy.egress") -> ParsedFile {
    ParsedFile(parsing: SourceFile(path: path, text: text))
}

/// Compiles one policy file; a test that expects it to load fails with its diagnostics otherwise.
func compile(_ text: String, path: String = "policy.egress") throws -> PolicyIndex {
    try compile([(path, text)])
}

/// Compiles a policy set of several files, given as (path, text) in any order.
func compile(_ files: [(path: String, text: String)]) throws -> PolicyIndex {
    do {
        return try PolicyCompiler.compile(files.map { SourceFile(path: $0.path, text: $0.text) })
    } catch {
        let rendered = error.diagnostics.map(\.rendered).joined(separator: "\n")
        Issue.record(Testing.Comment(rawValue: "the policy set does not compile:\n" + rendered))
        throw error
    }
}

/// Every diagnostic of loading a set (parse and resolution), without lint warnings.
func loadDiagnostics(_ text: String, path: String = "policy.egress") -> [Diagnostic] {
    PolicySet(files: [SourceFile(path: path, text: text)]).diagnostics
}

/// A workload with a known identity.
func workload(
    ns: String? = nil, sa: String? = nil, pod: String? = nil, spiffe: String? = nil, labels: [String: String] = [:]
) -> SourceIdentity {
    SourceIdentity(namespace: ns, serviceAccount: sa, pod: pod, spiffe: spiffe, labels: labels)
}

extension PolicyIndex {
    func verdict(_ source: SourceIdentity?, _ host: String, port: Int = 443) -> Verdict {
        decide(source: source, host: host, port: port).verdict
    }
}

extension Decision {
    /// `file:line` of the deciding rule, or `nil` for the default deny.
    var ruleLocation: String? { rule?.location }
    var dryRunRuleLocation: String? { dryRunRule?.location }
}
