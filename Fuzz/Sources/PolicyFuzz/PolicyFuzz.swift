import PolicyLang

/// libFuzzer entry point: the input is the text of a policy file (and, read
/// again, of a test file). Parsing, linting, compiling, deciding and
/// formatting must never crash or hang, and the formatter must be sound and
/// idempotent: any violation traps, which libFuzzer reports with the input.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let policy = SourceFile(path: "fuzz.egress", bytes: bytes)
    let tests = SourceFile(path: "fuzz_test.egress", bytes: bytes)
    let set = PolicySet(files: [policy, tests])
    _ = Linter(publicSuffixes: .implicitOnly).lint(set)
    for diagnostic in set.diagnostics {
        precondition(diagnostic.span.lowerBound <= diagnostic.span.upperBound && diagnostic.span.upperBound <= size)
        _ = diagnostic.location
    }
    if let index = try? PolicyCompiler.compile(set) {
        let text = String(decoding: bytes, as: UTF8.self)
        let words = text.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "," }).prefix(16)
        let source = SourceIdentity(namespace: "shop", serviceAccount: "web", pod: "web-1", labels: ["app": "A"])
        for word in words {
            _ = index.decide(source: source, host: String(word), port: 443)
            _ = index.decide(source: nil, host: String(word), port: 80)
        }
    }
    for file in [policy, tests] {
        guard let formatted = try? Formatter().format(file) else {
            // Refusing input with errors is fine; refusing valid input is a bug.
            precondition(ParsedFile(parsing: file).hasErrors, "formatter refused valid input")
            continue
        }
        let again = try? Formatter().format(SourceFile(path: file.path, text: formatted))
        precondition(again == formatted, "formatting is not idempotent")
    }
    _ = try? WorkloadDescription.parse(String(decoding: bytes, as: UTF8.self))
    return 0
}
