import EgressAPI
import Dispatch
import Foundation
import PolicyLang

/// `eval --batch`: decides a stream of JSON lines, writing one JSON line per
/// input line, in input order.
///
/// Lines are read in batches of a few thousand; each batch is decoded and
/// decided on every core at once, then written out in order before the next
/// batch is read. Memory stays bounded by one batch, whatever the stream's
/// length.
struct BatchEvaluator: Sendable {
    let index: PolicyIndex
    private let output: DecisionJSON
    static let batchSize = 4096

    init(index: PolicyIndex) {
        self.index = index
        self.output = DecisionJSON(index: index)
    }

    /// One line of input, read with JSONSerialization. JSONDecoder was three
    /// times slower here: its generic paths instantiate metadata under a
    /// global lock on every call, which also kept the workers from running
    /// in parallel.
    struct Request {
        var source: SourceIdentity?
        var host: String
        var port: Int

        struct Invalid: Error {
            let message: String
        }

        init(json: Data) throws(Invalid) {
            let value: Any
            do {
                value = try JSONSerialization.jsonObject(with: json)
            } catch {
                throw Invalid(message: "not valid JSON")
            }
            // (Reading it as NSDictionary instead was four times slower on Linux.)
            guard let object = value as? [String: Any] else { throw Invalid(message: "expected a JSON object") }
            guard let hostValue = object["host"] else { throw Invalid(message: "missing field 'host'") }
            guard let host = hostValue as? String else { throw Invalid(message: "'host' must be a string") }
            self.host = host
            // Cases test the expected type before NSNull: asking whether a
            // Swift dictionary or string `is NSNull` bridges it to an object
            // first, which cost more than parsing the line.
            do {
                port = try JSONPort.read(object["port"])
            } catch {
                throw Invalid(message: error.message)
            }
            switch object["source"] {
            case let fields as [String: Any]: source = try Self.identity(fields)
            case nil, is NSNull: source = nil
            default: throw Invalid(message: "'source' must be an object")
            }
        }

        private static func identity(_ fields: [String: Any]) throws(Invalid) -> SourceIdentity {
            func string(_ key: String) throws(Invalid) -> String? {
                switch fields[key] {
                case let text as String: return text
                case nil, is NSNull: return nil
                default: throw Invalid(message: "'source.\(key)' must be a string")
                }
            }
            return SourceIdentity(
                namespace: try string("namespace"), serviceAccount: try string("serviceAccount"), pod: try string("pod"),
                spiffe: try string("spiffe"), labels: try labels("labels", in: fields),
                namespaceLabels: try labels("namespaceLabels", in: fields))
        }

        private static func labels(_ field: String, in fields: [String: Any]) throws(Invalid) -> [String: String] {
            do {
                return try DecisionRequest.labels(field, in: fields)
            } catch {
                throw Invalid(message: error.message)
            }
        }
    }

    /// One input line and its 1-based number.
    private struct Line: Sendable {
        let number: Int
        let bytes: Data
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
        var reader = LineReader(handle: handle)
        var malformed = 0
        let workers = max(ProcessInfo.processInfo.activeProcessorCount, 1)
        while true {
            let lines = reader.next(Self.batchSize)
            if lines.isEmpty { break }
            var results = [String?](repeating: nil, count: lines.count)
            results.withUnsafeMutableBufferPointer { buffer in
                // Each worker writes only its own stride of slots, so the
                // unsynchronized writes never overlap.
                nonisolated(unsafe) let slots = buffer
                DispatchQueue.concurrentPerform(iterations: workers) { worker in
                    for i in stride(from: worker, to: lines.count, by: workers) {
                        slots[i] = render(lines[i])
                    }
                }
            }
            var out = ""
            out.reserveCapacity(lines.count * 160)
            for result in results {
                guard let result else { continue }
                if result.hasPrefix("{\"line\":") { malformed += 1 }
                out += result
                out += "\n"
            }
            StandardStreams.out(out)
        }
        return malformed
    }

    /// The output line for one input line, or nil for a blank line.
    private func render(_ line: Line) -> String? {
        if line.bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { return nil }
        switch decide(line.bytes) {
        case .success(let text): return text
        case .failure(let message): return "{\"line\":\(line.number),\"error\":\(DecisionJSON.quote(message))}"
        }
    }

    private enum Outcome {
        case success(String)
        case failure(String)
    }

    private func decide(_ line: Data) -> Outcome {
        let request: Request
        do {
            request = try Request(json: line)
        } catch {
            return .failure(error.message)
        }
        return .success(output.line(index.decide(source: request.source, host: request.host, port: request.port)))
    }

    /// Splits a byte stream into numbered lines, reading 64 KiB at a time.
    /// Each line is copied out, so no line shares storage with the buffer.
    private struct LineReader {
        let handle: FileHandle
        private var buffer: [UInt8] = []
        private var position = 0
        private var lineNumber = 0
        private var atEnd = false

        init(handle: FileHandle) { self.handle = handle }

        mutating func next(_ limit: Int) -> [Line] {
            var lines: [Line] = []
            lines.reserveCapacity(limit)
            while lines.count < limit {
                if let newline = buffer[position...].firstIndex(of: 0x0A) {
                    lineNumber += 1
                    lines.append(Line(number: lineNumber, bytes: Data(buffer[position..<newline])))
                    position = newline + 1
                    continue
                }
                if atEnd {
                    if position < buffer.count {
                        lineNumber += 1
                        lines.append(Line(number: lineNumber, bytes: Data(buffer[position...])))
                        position = buffer.count
                    }
                    break
                }
                let chunk = handle.readData(ofLength: 1 << 16)
                if chunk.isEmpty { atEnd = true }
                buffer.removeFirst(position)
                buffer.append(contentsOf: chunk)
                position = 0
            }
            return lines
        }
    }
}
