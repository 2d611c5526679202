import DNSMessage
import TestSupport
import Testing

/// The DNS codec on its own: messages as resolvers send them, every bound
/// the reader checks, the refusals an enforcer writes, and ECH taken out of
/// HTTPS records.
struct DNSMessageTests {
    /// `dig +edns example.com A` as it goes on the wire (id 0x1234, RD, one
    /// question, an OPT record with a 1232-byte payload size).
    static let query: [UInt8] = [
        0x12, 0x34, 0x01, 0x20, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
        7, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 3, 0x63, 0x6f, 0x6d, 0, 0x00, 0x01, 0x00, 0x01,
        0, 0x00, 0x29, 0x04, 0xd0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    ]

    @Test func aResolversQueryIsRead() throws {
        let message = try DNSReader.message(Self.query)
        #expect(message.id == 0x1234 && !message.isResponse && message.opcode == 0)
        #expect(message.questions == [DNSMessage.Question(name: DNSName("example.com")!, type: RecordType.a)])
        #expect(message.opt?.klass == 1232)
        #expect(DNSWriter.bytes(message) == Self.query, "written again byte for byte")
    }

    /// An answer with a CNAME chain, its names compressed as servers do.
    @Test func compressedNamesAreReadWholeAndWrittenOnTheirOwn() throws {
        var bytes: [UInt8] = [0xab, 0xcd, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0]
        bytes += [3, 0x77, 0x77, 0x77, 7] + Array("example".utf8) + [3] + Array("com".utf8) + [0, 0, 1, 0, 1]
        // www.example.com CNAME cdn.example.com (cdn + pointer to example.com at 16)
        bytes += [0xC0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 6, 3] + Array("cdn".utf8) + [0xC0, 16]
        // cdn.example.com (pointer to the CNAME's data at 45) A 192.0.2.7
        bytes += [0xC0, 45, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 7]
        let message = try DNSReader.message(bytes)
        #expect(message.answers.map(\.name.description) == ["www.example.com", "cdn.example.com"])
        var cname: [UInt8] = []
        DNSWriter.append(DNSName("cdn.example.com")!, to: &cname)
        #expect(message.answers[0].data == cname)
        #expect(message.answers[1].data == [192, 0, 2, 7])
        #expect(try DNSReader.message(DNSWriter.bytes(message)) == message)
    }

    @Test(arguments: [
        ([UInt8](repeating: 0, count: 11), "shorter than a DNS header"),
        // A pointer to itself, and one forward.
        ([0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 12, 0, 1, 0, 1], "does not point back"),
        ([0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 14, 0, 1, 0, 1, 0], "does not point back"),
        // Two pointers to each other (the second back to the first).
        ([0, 1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 1, 0x61, 0xC0, 18, 0, 1, 0, 1, 0xC0, 12, 0, 1, 0, 1], "does not point back"),
        // www.shop.test then a pointer into the header: a forwarder that
        // changes the id would have the upstream read another name.
        ([0, 7, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 3, 0x77, 0x77, 0x77, 4, 0x73, 0x68, 0x6F, 0x70, 0xC0, 0, 0, 1, 0, 1], "a compression pointer into the header"),
        ([0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 5, 0x61, 0x61, 0x61, 0x61], "a label runs past"),
        ([0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0x40, 0, 1, 0, 1], "a label type other"),
        ([0, 1, 0, 0, 0xFF, 0xFF, 0, 0, 0, 0, 0, 0, 0], "the section counts do not fit"),
        ([0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 9], "after the last record"),
        ([0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 9, 1], "record data runs past"),
    ])
    func malformedMessagesAreRefusedWithWhere(bytes: [UInt8], why: String) {
        do {
            _ = try DNSReader.message(bytes)
            Issue.record("read: \(bytes)")
        } catch let error as DNSReader.Malformed {
            #expect(error.description.contains(why), "\(error)")
        } catch {
            Issue.record("\(error)")
        }
    }

    /// Found by Fuzz/run (DNSFuzz): an SOA record whose two names run past
    /// its data length trapped on the slice after them.
    @Test func anSOAWhoseNamesOutrunItsDataIsRefused() {
        let bytes: [UInt8] = [0x00, 0x01, 0xa1, 0x80, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x07, 0x65, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x06, 0x6d, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x05, 0x00, 0x01, 0x00, 0x03, 0x02, 0x68, 0x32, 0x00, 0x00, 0x00, 0x04, 0xde, 0xad, 0xbe, 0xef]
        #expect(throws: DNSReader.Malformed.self) { try DNSReader.message(bytes) }
    }

    @Test func aNameOver255BytesIsRefused() throws {
        var bytes: [UInt8] = [0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]
        for _ in 0..<5 { bytes += [63] + [UInt8](repeating: 0x61, count: 63) }
        bytes += [0, 0, 1, 0, 1]
        #expect(throws: DNSReader.Malformed.self) { try DNSReader.message(bytes) }
        #expect(DNSName(String(repeating: "a.", count: 128)) == nil)
        #expect(DNSName("a..b") == nil)
    }

    @Test func namesCompareWithoutCaseAndKnowTheirZone() {
        #expect(DNSName("WWW.Example.COM.") == DNSName("www.example.com"))
        #expect(DNSName("a.b.svc.cluster.local")!.isWithin(DNSName("cluster.local")!))
        #expect(!DNSName("evilcluster.local")!.isWithin(DNSName("cluster.local")!))
        #expect(DNSName(labels: [[0x41, 0x2e, 0x00]]).description == "a\\046\\000")
    }

    @Test func aRefusalIsNXDOMAINWithAnExtendedErrorThatSaysWhy() throws {
        let query = try DNSReader.message(Self.query)
        let refusal = DNSRefusal.answer(to: query, rcode: ResponseCode.nameError, infoCode: DNSRefusal.blocked, text: "policy: no rule allows it")
        let bytes = DNSWriter.bytes(refusal)
        let read = try DNSReader.message(bytes)
        #expect(read.id == 0x1234 && read.isResponse && read.rcode == ResponseCode.nameError)
        #expect(read.flags & 0x0100 != 0, "RD echoed")
        #expect(read.questions == query.questions && read.answers.isEmpty)
        let option = try #require(read.opt).data
        #expect(Array(option.prefix(6)) == [0, 15, 0, UInt8(2 + 25), 0, 15])
        #expect(String(decoding: option.dropFirst(6), as: UTF8.self) == "policy: no rule allows it")
        // Without EDNS in the query, none in the answer.
        var plain = query
        plain.additionals = []
        #expect(DNSRefusal.answer(to: plain, rcode: ResponseCode.refused, infoCode: DNSRefusal.blocked, text: "x").additionals.isEmpty)
        #expect(DNSRefusal.formatError(for: [0x12, 0x34, 0xff]) == [0x12, 0x34, 0x80, 0x01, 0, 0, 0, 0, 0, 0, 0, 0])
    }

    /// An HTTPS record: priority 1, target ".", alpn h2, ech, and mandatory listing both.
    @Test func echIsTakenOutOfHTTPSRecords() throws {
        let alpn: [UInt8] = [0, 1, 0, 3, 2, 0x68, 0x32]
        let ech: [UInt8] = [0, 5, 0, 4, 0xde, 0xad, 0xbe, 0xef]
        let mandatory: [UInt8] = [0, 0, 0, 4, 0, 1, 0, 5]
        let data: [UInt8] = [0, 1, 0] + mandatory + alpn + ech
        let stripped = try #require(try SVCBParameters.removing(SVCBParameters.ech, from: data))
        #expect(stripped == [0, 1, 0] + [0, 0, 0, 2, 0, 1] + alpn)
        #expect(try SVCBParameters.removing(SVCBParameters.ech, from: [0, 1, 0] + alpn) == nil)
        #expect(throws: SVCBParameters.Malformed.self) { try SVCBParameters.removing(SVCBParameters.ech, from: [0, 1, 0, 0, 5, 0]) }

        var message = DNSMessage(id: 1, flags: 0x8180)
        message.answers = [
            .init(name: DNSName("example.com")!, type: RecordType.https, klass: 1, ttl: 60, data: data),
            .init(name: DNSName("example.com")!, type: RecordType.a, klass: 1, ttl: 60, data: [192, 0, 2, 1]),
            .init(name: DNSName("example.com")!, type: RecordType.https, klass: 1, ttl: 60, data: [0, 1]),
        ]
        let (result, changed) = message.strippingECH()
        #expect(changed)
        #expect(result.answers.map(\.type) == [RecordType.https, RecordType.a], "the record that does not parse is dropped")
        #expect(result.answers[0].data == stripped)
    }

    /// Random bytes, and random changes of a real query, never crash the
    /// reader; what it reads, it writes again and reads back the same.
    @Test func arbitraryBytesAreReadOrRefusedNeverCrash() throws {
        var random = SeededGenerator(seed: 21)
        for round in 0..<20_000 {
            var bytes = Self.query
            if round % 2 == 0 {
                bytes = (0..<Int.random(in: 0..<80, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            } else {
                for _ in 0..<Int.random(in: 1...4, using: &random) {
                    bytes[Int.random(in: 0..<bytes.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
                }
            }
            guard let message = try? DNSReader.message(bytes) else { continue }
            #expect(try DNSReader.message(DNSWriter.bytes(message)) == message)
        }
    }
}
