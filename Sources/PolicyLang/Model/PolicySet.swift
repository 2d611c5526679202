/// A policy set: every policy file of one directory, parsed, in sorted path
/// order, with host list references resolved. Test files passed in are kept
/// apart (`testFiles`) and are not part of the policy.
public struct PolicySet: Sendable {
    public let files: [ParsedFile]
    public let testFiles: [ParsedFile]
    /// Every rule in policy order (sorted path, then position in file).
    public let rules: [ResolvedRule]
    /// Host list definitions by name (the first one where a name is defined twice).
    public let hostLists: [String: DefinedHostList]
    /// Parse and resolution problems; lint warnings come from `Linter`.
    public let diagnostics: [Diagnostic]

    public var hasErrors: Bool { diagnostics.contains { $0.severity == .error } }

    /// Errors in the policy files themselves; errors in test files do not
    /// stop the policy from loading.
    public var policyErrors: [Diagnostic] {
        diagnostics.filter { $0.severity == .error && !$0.file.isTestFile }
    }

    public init(files sources: [SourceFile]) {
        let sorted = sources.sorted { $0.path < $1.path }
        let parsed = sorted.map(ParsedFile.init(parsing:))
        self.files = parsed.filter { !$0.file.isTestFile }
        self.testFiles = parsed.filter { $0.file.isTestFile }
        var diagnostics = parsed.flatMap(\.diagnostics)

        var lists: [String: DefinedHostList] = [:]
        for file in files {
            for decl in file.hostLists {
                if let first = lists[decl.name] {
                    let line = first.file.location(of: first.declaration.nameSpan.lowerBound).line
                    diagnostics.append(
                        Diagnostic(
                            .duplicateHosts, in: file.file, at: decl.nameSpan,
                            "host list '\(decl.name)' is already defined at \(first.file.path):\(line)",
                            help: "rename one of them or merge their hosts"))
                } else {
                    lists[decl.name] = DefinedHostList(declaration: decl, file: file.file)
                }
            }
        }
        self.hostLists = lists

        var rules: [ResolvedRule] = []
        for file in files {
            for rule in file.rules {
                var hosts: [ResolvedHost] = []
                for item in rule.hosts {
                    switch item {
                    case .pattern(let pattern, let ports, let span):
                        hosts.append(ResolvedHost(pattern: pattern, ports: ports, span: span, via: nil))
                    case .reference(let name, let span):
                        guard let list = lists[name] else {
                            let known = lists.keys.sorted()
                            diagnostics.append(
                                Diagnostic(
                                    .undefinedHosts, in: file.file, at: span, "host list '$\(name)' is not defined",
                                    help: known.isEmpty ? "define it with 'hosts \(name) = ...'"
                                        : "defined host lists: " + known.map { "$" + $0 }.joined(separator: ", ")))
                            continue
                        }
                        for case .pattern(let pattern, let ports, _) in list.declaration.items {
                            hosts.append(ResolvedHost(pattern: pattern, ports: ports, span: span, via: name))
                        }
                    }
                }
                rules.append(ResolvedRule(index: rules.count, rule: rule, file: file.file, hosts: hosts))
            }
        }
        self.rules = rules
        self.diagnostics = diagnostics
    }
}

public struct DefinedHostList: Sendable {
    public let declaration: HostListDeclaration
    public let file: SourceFile
}

/// A rule with its host list references expanded, and its place in the set.
public struct ResolvedRule: Sendable {
    /// Position in policy order; lower decides first among rules of a kind.
    public let index: Int
    public let rule: Rule
    public let file: SourceFile
    public let hosts: [ResolvedHost]

    public var line: Int { file.location(of: rule.span.lowerBound).line }
    public var location: String { "\(file.path):\(line)" }
    public var isEnforced: Bool { !rule.dryRun }
}

/// One host pattern of a rule, possibly from a `$NAME` list (`via`).
public struct ResolvedHost: Sendable, Hashable {
    public let pattern: HostPattern
    public let ports: PortRange?
    /// Where it is written in the rule (the `$NAME` for list members).
    public let span: Range<Int>
    public let via: String?

    /// Whether every (host, port) this one matches is matched by `other`.
    public func isCovered(by other: ResolvedHost) -> Bool {
        guard pattern.isCovered(by: other.pattern) else { return false }
        guard let otherPorts = other.ports else { return true }
        guard let ports else { return false }
        return otherPorts.low <= ports.low && ports.high <= otherPorts.high
    }
}
