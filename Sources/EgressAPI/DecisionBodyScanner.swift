import NIOCore

/// Reads the plain shape of a decision body straight from its bytes:
///
///     {"source": {"ip": "198.18.1.2"}, "host": "api.foo.com", "port": 443}
///
/// An enforcer sends this shape for every decision, and going through
/// `JSONSerialization` (a dictionary of boxed values, then casts) cost about
/// an eighth of the service's CPU per decision (perf, `bench/pdp-load`).
///
/// Only what is plainly this shape is read here: an object with `host`,
/// `port` and `source`, each at most once and in any order; `source` either
/// `null` or an object with one `ip` or `spiffe` string; strings of
/// printable ASCII without escapes; the port as plain digits. Anything else,
/// valid or not, gives `nil` and goes to the general parser
/// (`DecisionRequest.parse(_: Data)`), which also words every error. The two
/// must agree wherever this one answers; `DecisionBodyScannerTests` holds
/// them to it over many mutated bodies.
struct DecisionBodyScanner: ~Copyable {
    private let bytes: UnsafeRawBufferPointer
    private var index = 0

    private init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    static func scan(_ buffer: ByteBuffer) -> DecisionRequest? {
        buffer.withUnsafeReadableBytes { scan($0) }
    }

    static func scan(_ bytes: UnsafeRawBufferPointer) -> DecisionRequest? {
        var scanner = DecisionBodyScanner(bytes)
        return scanner.request()
    }

    private mutating func request() -> DecisionRequest? {
        guard take(UInt8(ascii: "{")) else { return nil }
        var host: String?
        var port: Int?
        var source: DecisionRequest.Source?
        repeat {
            guard let key = key() else { return nil }
            switch key {
            case .host:
                guard host == nil, let text = string(), !text.isEmpty, text.utf8.count <= 255 else { return nil }
                host = text
            case .port:
                guard port == nil else { return nil }
                if let text = rawString() {
                    guard Self.equal(text, "any") else { return nil }
                    port = DecisionRequest.anyPort
                } else {
                    guard let number = integer(), (1...65535).contains(number) else { return nil }
                    port = number
                }
            case .source:
                guard source == nil, let value = sourceValue() else { return nil }
                source = value
            }
        } while take(UInt8(ascii: ","))
        guard take(UInt8(ascii: "}")) else { return nil }
        skipSpace()
        guard index == bytes.count, let host else { return nil }
        return DecisionRequest(source: source ?? .unknown, host: host, port: port ?? 443)
    }

    private enum Key {
        case host, port, source
    }

    /// A member name and its colon.
    private mutating func key() -> Key? {
        guard let name = rawString(), take(UInt8(ascii: ":")) else { return nil }
        if Self.equal(name, "host") { return .host }
        if Self.equal(name, "port") { return .port }
        if Self.equal(name, "source") { return .source }
        return nil
    }

    private mutating func sourceValue() -> DecisionRequest.Source? {
        skipSpace()
        if takeLiteral("null") { return .unknown }
        guard take(UInt8(ascii: "{")), let name = rawString(), take(UInt8(ascii: ":")) else { return nil }
        let source: DecisionRequest.Source
        if Self.equal(name, "ip") {
            guard let text = string(), let normal = IPAddressText.normalize(text) else { return nil }
            source = .ip(normal)
        } else if Self.equal(name, "spiffe") {
            guard let text = string() else { return nil }
            source = .spiffe(text)
        } else {
            return nil
        }
        return take(UInt8(ascii: "}")) ? source : nil
    }

    private mutating func string() -> String? {
        rawString().map { String(decoding: $0, as: UTF8.self) }
    }

    /// The bytes between the quotes of a string of printable ASCII without
    /// escapes, after any whitespace.
    private mutating func rawString() -> UnsafeRawBufferPointer.SubSequence? {
        guard take(UInt8(ascii: "\"")) else { return nil }
        let start = index
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                index += 1
                return bytes[start..<index - 1]
            }
            // Escapes, control characters and non-ASCII are the general parser's.
            guard byte >= 0x20, byte < 0x7F, byte != UInt8(ascii: "\\") else { return nil }
            index += 1
        }
        return nil
    }

    /// Plain digits, at most five, without a leading zero, after any whitespace.
    private mutating func integer() -> Int? {
        skipSpace()
        var value = 0
        let start = index
        while index < bytes.count, index - start < 6, case let digit = bytes[index], digit >= 0x30, digit <= 0x39 {
            value = value * 10 + Int(digit - 0x30)
            index += 1
        }
        let count = index - start
        guard count > 0, count <= 5, bytes[start] != UInt8(ascii: "0") else { return nil }
        // A fraction or an exponent follows: not plain digits.
        if index < bytes.count, [UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E")].contains(bytes[index]) { return nil }
        return value
    }

    /// Consumes `byte` after any whitespace.
    private mutating func take(_ byte: UInt8) -> Bool {
        skipSpace()
        guard index < bytes.count, bytes[index] == byte else { return false }
        index += 1
        return true
    }

    private mutating func takeLiteral(_ literal: StaticString) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard bytes.count - index >= count, Self.equal(bytes[index..<index + count], literal) else { return false }
        index += count
        return true
    }

    private mutating func skipSpace() {
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"): index += 1
            default: return
            }
        }
    }

    private static func equal(_ bytes: UnsafeRawBufferPointer.SubSequence, _ literal: StaticString) -> Bool {
        guard bytes.count == literal.utf8CodeUnitCount else { return false }
        return literal.withUTF8Buffer { bytes.elementsEqual($0) }
    }
}
