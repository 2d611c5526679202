/// Answers a DNS enforcer gives on its own, built from the query: a refusal
/// (NXDOMAIN or REFUSED) with an Extended DNS Error (RFC 8914) that says why,
/// and FORMERR for a query that cannot be read as one.
public enum DNSRefusal {
    /// RFC 8914's INFO-CODE 15, "Blocked": the name is blocked by the
    /// operator's policy.
    public static let blocked: UInt16 = 15
    /// INFO-CODE 18, "Prohibited": the requester may not ask (a query type refused).
    public static let prohibited: UInt16 = 18
    /// INFO-CODE 0, "Other Error": the text says what.
    public static let other: UInt16 = 0
    /// INFO-CODE 23, "Network Error": a server the resolver needed could
    /// not be reached (the decision service, for egress-dns).
    public static let networkError: UInt16 = 23
    /// The EDNS option code of an Extended DNS Error.
    public static let extendedErrorOption: UInt16 = 15

    /// The answer to `query` with `rcode`: the query's id, opcode, RD and
    /// question, QR and RA set; when the query spoke EDNS, an OPT record
    /// carrying the extended error `infoCode` and `text` (at most 200 bytes).
    public static func answer(to query: DNSMessage, rcode: UInt16, infoCode: UInt16, text: String) -> DNSMessage {
        var answer = DNSMessage(id: query.id, flags: 0x8000 | (query.flags & 0x7900) | 0x0080 | (rcode & 0xF))
        answer.questions = Array(query.questions.prefix(1))
        if let opt = query.opt {
            var data: [UInt8] = []
            let extra = Array(text.utf8.prefix(200))
            DNSWriter.u16(extendedErrorOption, &data)
            DNSWriter.u16(UInt16(2 + extra.count), &data)
            DNSWriter.u16(infoCode, &data)
            data += extra
            // Our payload size (1232, the DNS flag day's), version 0, DO echoed.
            answer.additionals = [DNSMessage.Record(name: DNSName(labels: []), type: RecordType.opt, klass: 1232, ttl: opt.ttl & 0x0000_8000, data: data)]
        }
        return answer
    }

    /// FORMERR for bytes that are not a readable query: the id echoed when
    /// there are two bytes of it, nothing else trusted.
    public static func formatError(for bytes: [UInt8]) -> [UInt8]? {
        guard bytes.count >= 2 else { return nil }
        let flags: UInt16 = 0x8000 | ResponseCode.formatError
        return [bytes[0], bytes[1], UInt8(flags >> 8), UInt8(flags & 0xFF), 0, 0, 0, 0, 0, 0, 0, 0]
    }
}
