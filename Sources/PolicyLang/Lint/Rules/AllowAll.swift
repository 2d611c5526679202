/// `allow-all`: `allow * -> *`, which turns the egress firewall off.
public struct AllowAll: LintRule {
    public let id = DiagnosticID.allowAll

    public init() {}

    public func check(_ context: LintContext) -> [Diagnostic] {
        var diagnostics: [Diagnostic] = []
        for rule in context.set.rules where rule.rule.effect == .allow && rule.rule.selector == .any {
            for host in rule.hosts where host.pattern == .any && host.ports == nil {
                let via = host.via.map { " (through host list '\($0)')" } ?? ""
                diagnostics.append(
                    Diagnostic(
                        id, in: rule.file, at: rule.rule.span.lowerBound..<host.span.upperBound,
                        "'allow * -> *' lets every workload reach every host\(via)\(rule.rule.dryRun ? " (in dry-run)" : "")",
                        help: "allow the hosts your workloads need"))
            }
        }
        return diagnostics
    }
}
