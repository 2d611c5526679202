import ClientHello
import Testing
import TestSupport

/// Hostile input: cut short anywhere, or mutated at random, the reader
/// never traps and never disagrees with itself over how bytes were split.
@Suite("Robustness")
struct RobustnessTests {
    @Test("every prefix of a real hello needs more bytes", arguments: Capture.tls)
    func truncation(_ capture: Capture) throws {
        let bytes = try capture.bytes
        for length in 0..<bytes.count {
            let prefix = Array(bytes[..<length])
            let result = Feeding.whole(prefix)
            #expect(result == nil, "prefix of \(length) bytes gave \(String(describing: result))")
            if result != nil { break }
        }
        // Bytewise feeding sees every prefix too, through the raw-buffer entry point.
        #expect(Feeding.bytewise(bytes) == capture.expected)
    }

    @Test("random mutations never crash and give the same result however split", arguments: Capture.tls)
    func mutations(_ capture: Capture) throws {
        let original = try capture.bytes
        var generator = SeededGenerator(seed: 0xC11E_4E11_0 &+ UInt64(original.count))
        var outcomes: [String: Int] = [:]
        for round in 0..<2_000 {
            let bytes = Self.mutate(original, using: &generator)
            let whole = Feeding.whole(bytes)
            let chunked = Feeding.chunked(bytes, seed: UInt64(round))
            #expect(whole == chunked, "round \(round)")
            if round % 50 == 0 {
                #expect(Feeding.bytewise(bytes) == whole, "round \(round)")
            }
            outcomes[Self.kind(whole), default: 0] += 1
        }
        // The mutations should reach more than one kind of outcome, or they test little.
        #expect(outcomes.count >= 3, "\(outcomes)")
    }

    /// Overwrites, flips, inserts or deletes a few bytes; mostly near the
    /// start, where the lengths that steer the parser are.
    static func mutate(_ input: [UInt8], using generator: inout SeededGenerator) -> [UInt8] {
        var bytes = input
        for _ in 0..<Int.random(in: 1...4, using: &generator) {
            guard !bytes.isEmpty else { break }
            let limit = Bool.random(using: &generator) ? min(bytes.count, 128) : bytes.count
            let index = Int.random(in: 0..<limit, using: &generator)
            switch Int.random(in: 0..<5, using: &generator) {
            case 0: bytes[index] = UInt8.random(in: 0...255, using: &generator)
            case 1: bytes[index] ^= 1 << UInt8.random(in: 0..<8, using: &generator)
            case 2: bytes[index] = [0, 1, 0x7F, 0x80, 0xFF].randomElement(using: &generator) ?? 0
            case 3: bytes.insert(UInt8.random(in: 0...255, using: &generator), at: index)
            default: bytes.remove(at: index)
            }
        }
        return bytes
    }

    static func kind(_ result: ClientHelloResult?) -> String {
        switch result {
        case nil: "needs more"
        case .sni: "sni"
        case .noSNI: "noSNI"
        case .notTLS: "notTLS"
        case .malformed: "malformed"
        }
    }
}
