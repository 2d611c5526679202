/// `unused-hosts`: a host list that no rule uses.
public struct UnusedHosts: LintRule {
    public let id = DiagnosticID.unusedHosts

    public init() {}

    public func check(_ context: LintContext) -> [Diagnostic] {
        // A rule the parser could not read may be the one that uses the list.
        guard context.isComplete else { return [] }
        var used = Set<String>()
        for file in context.set.files {
            for rule in file.rules {
                for case .reference(let name, _) in rule.hosts { used.insert(name) }
            }
        }
        return context.set.hostLists.values
            .filter { !used.contains($0.declaration.name) }
            .map {
                Diagnostic(
                    id, in: $0.file, at: $0.declaration.nameSpan,
                    "host list '\($0.declaration.name)' is not used by any rule", help: "use it as $\($0.declaration.name), or remove it")
            }
    }
}
