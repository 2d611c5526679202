import ClientHello

/// libFuzzer entry point: the input is the first bytes of a connection.
/// The reader must never trap, and must not care how TCP split the bytes:
/// it is fed the input whole, and again in two pieces, and the answers must
/// agree (a mismatch traps, which libFuzzer reports with the input).
///
/// The split point comes from the first byte, as a fuzzer-controlled choice;
/// but every TLS input starts with 0x16, which alone would pin the split at
/// byte 22, so a second split point comes from the last byte, scaled over
/// the whole input.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    var reader = ClientHelloReader()
    let whole = reader.feed(bytes)
    if let whole {
        precondition(reader.feed(bytes) == whole, "a further feed changed the result")
    }
    guard size > 0 else { return 0 }
    for split in [Int(data[0]) % (size + 1), Int(data[size - 1]) * (size + 1) / 256] {
        var pieces = ClientHelloReader()
        let first = pieces.feed(UnsafeRawBufferPointer(rebasing: bytes[..<split]))
        let second = pieces.feed(UnsafeRawBufferPointer(rebasing: bytes[split...]))
        if let first {
            precondition(second == first, "the result changed after it was given")
        }
        precondition(
            second == whole,
            "split at \(split): \(String(describing: second)), whole: \(String(describing: whole))")
    }
    return 0
}
