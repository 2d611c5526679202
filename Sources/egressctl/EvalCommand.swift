import ArgumentParser
import EgressAPI
import Foundation
import PolicyLang

struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Decide requests against a policy set.",
        discussion: """
            One request:  egressctl eval --policies DIR --from 'ns:shop, app=web' --to api.stripe.com:443
            Many:         egressctl eval --policies DIR --batch requests.jsonl   (or --batch - for stdin)

            --from describes one workload: '*' (no known identity) or ns:, sa:, pod:,
            spiffe:, key=value and nslabel:key=value (its namespace's labels) terms.
            --to defaults to port 443; HOST:any asks whether the workload may reach
            HOST on some port (the question egress-dns asks for a name).

            --batch reads JSON lines such as
              {"source": {"namespace": "shop", "serviceAccount": "checkout", "pod": "web-1",
                          "labels": {"app": "web"}, "namespaceLabels": {"team": "payments"},
                          "spiffe": "spiffe://..."},
               "host": "api.stripe.com", "port": 443}
            (a missing or empty source has no known identity; port defaults to 443, and
            "any" asks about the name on any port) and
            writes one JSON line per request, in order, with verdict, rule, name,
            dryRunVerdict and dryRunRule. A malformed line yields {"line": N, "error": ...}
            and the rest go on. Exit 1 if any line was malformed.
            """)

    enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
        case text, json
    }

    @Option(help: ArgumentHelp("The policy set directory.", valueName: "dir"))
    var policies: String

    @Option(help: ArgumentHelp("The requesting workload.", valueName: "selector"))
    var from: String?

    @Option(help: ArgumentHelp("The requested host, with an optional :PORT (443 when none; 'any': on some port).", valueName: "host[:port]"))
    var to: String?

    @Option(help: ArgumentHelp("Decide every JSON line of this file ('-': standard input).", valueName: "file"))
    var batch: String?

    @Option(help: "Output format for a single request: text or json.")
    var format: OutputFormat = .text

    func validate() throws {
        if batch != nil, from != nil || to != nil {
            throw ValidationError("use either --batch or --from and --to, not both")
        }
        if batch == nil, from == nil || to == nil {
            throw ValidationError("give --from and --to for one request, or --batch FILE")
        }
        // Checked here rather than in run() so that a mistake prints this
        // command's usage, not the root's.
        if let from { _ = try Self.parseSource(from) }
        if let to { _ = try Self.splitHostPort(to) }
    }

    static func parseSource(_ text: String) throws -> SourceIdentity? {
        do {
            return try WorkloadDescription.parse(text, origin: "--from")
        } catch {
            throw ValidationError("--from: " + error.diagnostics.map(\.message).joined(separator: "; "))
        }
    }

    func run() throws {
        try reportingFileErrors {
            let set = try PolicyFiles.policySet(in: policies)
            let index: PolicyIndex
            do {
                index = try PolicyCompiler.compile(set)
            } catch let failure as PolicyCompiler.Failure {
                StandardStreams.err(failure.diagnostics.map(DiagnosticRenderer.text).joined())
                StandardStreams.err("egressctl: the policy set in \(policies) has errors\n")
                throw ExitCode(1)
            }
            if let batch {
                let malformed = try BatchEvaluator(index: index).run(input: batch)
                if malformed > 0 { throw ExitCode(1) }
                return
            }
            // validate() makes --from and --to required without --batch.
            guard let from, let to else { throw ValidationError("--from and --to are required without --batch") }
            let source = try Self.parseSource(from)
            let (host, port) = try Self.splitHostPort(to)
            let decision = index.decide(source: source, host: host, port: port)
            switch format {
            case .json:
                StandardStreams.out(DecisionJSON(index: index).line(decision) + "\n")
            case .text:
                func by(_ rule: RuleReference?) -> String { rule.map { "by \($0)" } ?? "(no rule matched: default deny)" }
                StandardStreams.out("\(decision.verdict.rawValue) \(by(decision.rule))\n")
                if decision.dryRunVerdict != decision.verdict || decision.dryRunRule != decision.rule {
                    StandardStreams.out("dry-run: would \(decision.dryRunVerdict.rawValue) \(by(decision.dryRunRule))\n")
                }
            }
        }
    }

    static func splitHostPort(_ text: String) throws -> (String, Int) {
        guard let colon = text.lastIndex(of: ":"), !text.hasSuffix("]") else { return (text, 443) }
        if text[text.index(after: colon)...] == "any" { return (String(text[..<colon]), DecisionRequest.anyPort) }
        guard let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port) else {
            throw ValidationError("--to: expected HOST[:PORT] with a port in 1-65535 or 'any', found '\(text)'")
        }
        return (String(text[..<colon]), port)
    }
}
