import DNSMessage
import EnforcerCore
import NIOCore
import Testing
@testable import DNSEnforcer

@Suite("QueryScreen: what a query makes egress-dns do")
struct QueryScreenTests {
    let screen = QueryScreen(internalZones: [DNSName("cluster.local")!], refusedTypes: [RecordType.any])

    func query(_ name: String, type: UInt16 = RecordType.a, klass: UInt16 = RecordClass.internet, flags: UInt16 = 0x0100) -> DNSMessage {
        var message = DNSMessage(id: 7, flags: flags)
        message.questions = [.init(name: DNSName(name)!, type: type, klass: klass)]
        return message
    }

    @Test func aNameOutsideTheClusterIsDecidedInLowerCaseWithoutItsDot() {
        #expect(screen.screen(query("API.Example.COM.")) == .decide(host: "api.example.com"))
    }

    @Test func theClustersNamesAndTheirSearchPathFormsAreForwardedUndecided() {
        #expect(screen.screen(query("web.shop.svc.cluster.local")) == .internalName)
        #expect(screen.screen(query("CLUSTER.LOCAL")) == .internalName)
        #expect(screen.screen(query("example.com.shop.svc.cluster.local")) == .internalName)
        #expect(screen.screen(query("web.shop.svc")) == .internalName)
        // 'svc' alone, or a zone that merely ends like one, is not the cluster's.
        #expect(screen.screen(query("svc")) == .decide(host: "svc"))
        #expect(screen.screen(query("evilcluster.local")) == .decide(host: "evilcluster.local"))
    }

    @Test func refusedTypesAreRefusedWhateverTheName() {
        #expect(screen.screen(query("example.com", type: RecordType.any)) == .refusedType("ANY"))
        #expect(screen.screen(query("web.shop.svc.cluster.local", type: RecordType.any)) == .refusedType("ANY"))
    }

    @Test func aServiceOfAHostIsDecidedAsTheHost() {
        #expect(screen.screen(query("_mongodb._tcp.db.example.com", type: RecordType.srv)) == .decide(host: "db.example.com"))
        #expect(screen.screen(query("_8443._https.api.example.com", type: RecordType.https)) == .decide(host: "api.example.com"))
        // Only leading labels: an underscore further in stays, and decides as it is.
        #expect(screen.screen(query("a._b.example.com")) == .decide(host: "a._b.example.com"))
        #expect(screen.screen(query("_x._y")) == .answer(rcode: ResponseCode.refused, reason: "root"))
    }

    @Test func whatIsNotOneInternetQuestionIsAnsweredOnItsOwn() {
        #expect(screen.screen(query("example.com", flags: 0x8180)) == .drop)
        #expect(screen.screen(query("example.com", flags: 0x2800)) == .answer(rcode: ResponseCode.notImplemented, reason: "opcode"))
        #expect(screen.screen(query("version.bind", type: RecordType.txt, klass: 3)) == .answer(rcode: ResponseCode.refused, reason: "class"))
        #expect(screen.screen(query("")) == .answer(rcode: ResponseCode.refused, reason: "root"))
        var two = query("a.example.com")
        two.questions.append(two.questions[0])
        #expect(screen.screen(two) == .answer(rcode: ResponseCode.formatError, reason: "not-one-question"))
        var none = query("a.example.com")
        none.questions = []
        #expect(screen.screen(none) == .answer(rcode: ResponseCode.formatError, reason: "not-one-question"))
    }

    @Test func aNameOfEscapedBytesTooLongForTheDecisionAPIIsRefused() {
        let label = [UInt8](repeating: 0x01, count: 63)
        let name = DNSName(labels: [label, label, label])
        var message = DNSMessage(id: 1, flags: 0)
        message.questions = [.init(name: name, type: RecordType.a)]
        #expect(screen.screen(message) == .answer(rcode: ResponseCode.refused, reason: "name-too-long"))
    }

    @Test func typesAreNamedAsZoneFilesNameThem() {
        #expect(RecordType.name(RecordType.https) == "HTTPS")
        #expect(RecordType.name(65280) == "TYPE65280")
        #expect(RecordType.type(named: "any") == RecordType.any)
        #expect(RecordType.type(named: "type65280") == 65280)
        #expect(RecordType.type(named: "bogus") == nil)
    }
}

@Suite("SourceAddressText: a query's source as the decision service keys it")
struct SourceAddressTextTests {
    @Test func ipv4IsWrittenFromItsBytesAsIPAddressTextWouldWriteIt() throws {
        for text in ["198.18.71.2", "0.0.0.0", "255.255.255.255", "10.0.100.9", "1.20.3.255"] {
            #expect(SourceAddressText.text(try SocketAddress(ipAddress: text, port: 5353)) == text)
        }
    }

    @Test func ipv6IsCanonicalAndAMappedIPv4IsItsIPv4() throws {
        #expect(SourceAddressText.text(try SocketAddress(ipAddress: "2001:DB8:0::2", port: 53)) == "2001:db8::2")
        #expect(SourceAddressText.text(try SocketAddress(ipAddress: "::ffff:198.18.1.2", port: 53)) == "198.18.1.2")
    }
}
