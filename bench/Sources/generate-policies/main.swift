import Foundation
import PolicyGen

// Usage: generate-policies RULES OUTDIR REQUESTS
// Writes OUTDIR/generated.egress, OUTDIR/requests.jsonl (eval --batch input),
// OUTDIR/workloads.json (egress-pdp --workloads: every workload with one
// address) and OUTDIR/decision-allow.json, OUTDIR/decision-deny.json (bodies of
// POST /v1/decisions by address, one allowed and one denied).
let arguments = CommandLine.arguments
guard arguments.count == 4, let rules = Int(arguments[1]), let count = Int(arguments[3]) else {
    FileHandle.standardError.write(Data("usage: generate-policies RULES OUTDIR REQUESTS\n".utf8))
    exit(2)
}
let directory = URL(fileURLWithPath: arguments[2])
try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
var generator = PolicyGenerator(rules: rules)
try Data(generator.policyText().utf8).write(to: directory.appendingPathComponent("generated.egress"))

let encoder = JSONEncoder()
encoder.outputFormatting = .sortedKeys
struct Line: Encodable {
    struct Source: Encodable {
        let namespace: String?
        let serviceAccount: String?
        let pod: String?
        let labels: [String: String]
    }
    let source: Source
    let host: String
    let port: Int
}
var out = Data()
for request in generator.requests(count) {
    let s = request.source
    out += try encoder.encode(
        Line(
            source: .init(namespace: s.namespace, serviceAccount: s.serviceAccount, pod: s.pod, labels: s.labels),
            host: request.host, port: request.port))
    out.append(0x0A)
}
try out.write(to: directory.appendingPathComponent("requests.jsonl"))

struct Workload: Encodable {
    let namespace: String
    let pod: String
    let serviceAccount: String?
    let labels: [String: String]
    let ips: [String]
}
let workloads = (0..<generator.workloadCount).map { i in
    let w = generator.workload(i)
    return Workload(namespace: w.namespace!, pod: w.pod!, serviceAccount: w.serviceAccount, labels: w.labels, ips: [generator.workloadIP(i)])
}
try encoder.encode(workloads).write(to: directory.appendingPathComponent("workloads.json"))

struct DecisionBody: Encodable {
    let source: [String: String]
    let host: String
    let port: Int
}
// The first request of the generated stream that is allowed (it names a rule's
// host from that rule's workload) and one that no rule allows.
let sample = generator.requests(1000)
if let allowed = sample.first(where: { $0.host.hasPrefix("x.") || $0.host.hasPrefix("api") }) {
    try encoder.encode(DecisionBody(source: ["ip": generator.workloadIP(allowed.workload)], host: allowed.host, port: allowed.port))
        .write(to: directory.appendingPathComponent("decision-allow.json"))
}
try encoder.encode(DecisionBody(source: ["ip": generator.workloadIP(0)], host: "nobody-allows.example.org", port: 443))
    .write(to: directory.appendingPathComponent("decision-deny.json"))
