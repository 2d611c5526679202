import Foundation
import PolicyGen

// Usage: generate-policies RULES OUTDIR REQUESTS
// Writes OUTDIR/generated.egress and OUTDIR/requests.jsonl (eval --batch input).
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
