import DNSMessage

/// libFuzzer entry point: the input is a DNS message as a workload or an
/// upstream might send it. Nothing may trap; what the reader accepts, the
/// writer writes and the reader reads back the same; the refusal built from
/// it and the message without ECH are messages the reader accepts.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    _ = DNSRefusal.formatError(for: bytes)
    guard let message = try? DNSReader.message(bytes) else { return 0 }
    let written = DNSWriter.bytes(message)
    // Names are written whole: a message with many shared names may outgrow
    // what one message can be, and is then not read back.
    if written.count <= 65535 {
        precondition((try? DNSReader.message(written)) == message, "a message written again reads differently")
    }
    let refusal = DNSRefusal.answer(to: message, rcode: ResponseCode.nameError, infoCode: DNSRefusal.blocked, text: "fuzz")
    precondition((try? DNSReader.message(DNSWriter.bytes(refusal))) != nil, "a refusal does not read back")
    let (stripped, _) = message.strippingECH()
    let strippedBytes = DNSWriter.bytes(stripped)
    if strippedBytes.count <= 65535 {
        precondition((try? DNSReader.message(strippedBytes)) != nil, "a message without ECH does not read back")
    }
    return 0
}
