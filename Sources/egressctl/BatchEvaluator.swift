import Foundation
import PolicyLang

/// `eval --batch`: decides a stream of JSON lines, writing one JSON line per
/// input line, in order. Input is read in fixed-size chunks and output is
/// flushed in chunks, so memory stays constant whatever the stream's length.
struct BatchEvaluator {
    let index: PolicyIndex
    private let output: DecisionJSON
    private let decoder = JSONDecoder()

    init(index: PolicyIndex) {
        self.index = index
        self.output = DecisionJSON(index: index)
    }

    struct Request: Decodable {
        struct Source: Decodable {
            var namespace: String?
            var serviceAccount: String?
            var pod: String?
            var spiffe: String?
            var labels: [String: String]?
        }
        var source: Source?
        var host: String
        var port: Int?
    }

    /// Returns the number of malformed lines.
    func run(input path: String) throws -> Int {
        let handle: FileHandle
        if path == "-" {
            handle = .standardInput
        } else {
            guard let file = FileHandle(forReadingAtPath: path) else {
                throw PolicyFiles.ReadError(path: path, reason: "cannot open batch file")
            }
            handle = file
        }
        var malformed = 0
        var lineNumber = 0
        var pending = Data()
        var out = ""
        out.reserveCapacity(1 << 17)
        func flushIfFull() {
            if out.utf8.count >= 1 << 16 {
                StandardStreams.out(out)
                out.removeAll(keepingCapacity: true)
            }
        }
        func handleLine(_ line: Data) {
            lineNumber += 1
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { return }
            switch decide(line) {
            case .success(let text): out += text
            case .failure(let message):
                malformed += 1
                out += "{\"line\":\(lineNumber),\"error\":\(DecisionJSON.quote(message))}"
            }
            out += "\n"
            flushIfFull()
        }
        while true {
            let chunk = handle.readData(ofLength: 1 << 16)
            if chunk.isEmpty { break }
            pending.append(chunk)
            var start = pending.startIndex
            while let newline = pending[start...].firstIndex(of: 0x0A) {
                handleLine(pending[start..<newline])
                start = newline + 1
            }
            pending = Data(pending[start...])
        }
        if !pending.isEmpty { handleLine(pending) }
        StandardStreams.out(out)
        return malformed
    }

    private enum Outcome {
        case success(String)
        case failure(String)
    }

    private func decide(_ line: Data) -> Outcome {
        let request: Request
        do {
            request = try decoder.decode(Request.self, from: line)
        } catch let DecodingError.keyNotFound(key, _) {
            return .failure("missing field '\(key.stringValue)'")
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            return .failure("wrong type for '\(path)': \(context.debugDescription)")
        } catch {
            return .failure("not a JSON object: \(error.localizedDescription)")
        }
        let port = request.port ?? 443
        guard (1...65535).contains(port) else { return .failure("port \(port) is outside 1-65535") }
        var source: SourceIdentity?
        if let s = request.source {
            let identity = SourceIdentity(
                namespace: s.namespace, serviceAccount: s.serviceAccount, pod: s.pod, spiffe: s.spiffe, labels: s.labels ?? [:])
            source = identity.isEmpty ? nil : identity
        }
        return .success(output.line(index.decide(source: source, host: request.host, port: port)))
    }
}
