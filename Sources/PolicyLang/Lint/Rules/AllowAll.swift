/// `allow-all`: `allow * -> *`, which turns the egress firewall off.
public struct AllowAll: LintRule {
    public let id = DiagnosticID.allowAll

    public init() {}

    public func check(_ context: LintContext) -> [Diagnostic] {
        var diagnostics: [Diagnostic] = []
        for file in context.set.files {
            for rule in file.rules where rule.effect == .allow && rule.selector == .any {
                for case .pattern(.any, nil, let span) in rule.hosts {
                    diagnostics.append(
                        Diagnostic(
                            id, in: file.file, at: rule.span.lowerBound..<span.upperBound,
                            "'allow * -> *' lets every workload reach every host\(rule.dryRun ? " (in dry-run)" : "")",
                            help: "allow the hosts your workloads need"))
                }
            }
        }
        return diagnostics
    }
}
