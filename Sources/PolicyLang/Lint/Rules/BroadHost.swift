/// `broad-host`: an allowed host pattern that is `*`, or a wildcard directly
/// under a public suffix (`*.com`, `*.co.uk`), which spans names registered by
/// anyone. Deny rules may be as broad as they like. `allow * -> *` is left to
/// `allow-all`.
public struct BroadHost: LintRule {
    public let id = DiagnosticID.broadHost

    public init() {}

    public func check(_ context: LintContext) -> [Diagnostic] {
        var diagnostics: [Diagnostic] = []
        var usedByAllow = Set<String>()
        // Lists used only by `allow * -> $list`: a bare `*` in them is
        // `allow-all`'s finding, not this rule's.
        var usedByScopedAllow = Set<String>()
        for file in context.set.files {
            for rule in file.rules where rule.effect == .allow {
                for item in rule.hosts {
                    switch item {
                    case .reference(let name, _):
                        usedByAllow.insert(name)
                        if rule.selector != .any { usedByScopedAllow.insert(name) }
                    case .pattern(let pattern, let ports, let span):
                        if pattern == .any, rule.selector == .any, ports == nil { continue }
                        if let message = message(pattern, context) {
                            diagnostics.append(Diagnostic(id, in: file.file, at: span, message, help: help(pattern)))
                        }
                    }
                }
            }
        }
        for (name, list) in context.set.hostLists where usedByAllow.contains(name) {
            for case .pattern(let pattern, let ports, let span) in list.declaration.items {
                if pattern == .any, ports == nil, !usedByScopedAllow.contains(name) { continue }
                if let message = message(pattern, context) {
                    diagnostics.append(
                        Diagnostic(id, in: list.file, at: span, message + " (host list '\(name)' is used by allow rules)", help: help(pattern)))
                }
            }
        }
        return diagnostics
    }

    private func message(_ pattern: HostPattern, _ context: LintContext) -> String? {
        switch pattern {
        case .any: return "'*' allows every host name"
        case .wildcard(let suffix) where context.publicSuffixes.isPublicSuffix(suffix):
            return "'*.\(suffix)' allows every name under the public suffix '\(suffix)', whoever registered it"
        default: return nil
        }
    }

    private func help(_ pattern: HostPattern) -> String {
        "list the domains you need, as in *.example.\(pattern == .any ? "com" : pattern.description.dropFirst(2))"
    }
}
