import NIOCore
import Testing

@testable import EnforcerCore
@testable import PEP

@Suite struct AddressRangeTests {
    func address(_ text: String) throws -> SocketAddress { try SocketAddress(ipAddress: text, port: 443) }

    @Test func ipv4Ranges() throws {
        let range = try AddressRange(parsing: "10.0.0.0/8")
        #expect(range.contains(try address("10.1.2.3")))
        #expect(!range.contains(try address("11.0.0.1")))
        #expect(try AddressRange(parsing: "172.16.0.0/12").contains(try address("172.31.255.255")))
        #expect(try !AddressRange(parsing: "172.16.0.0/12").contains(try address("172.32.0.0")))
        #expect(try AddressRange(parsing: "198.18.3.1").contains(try address("198.18.3.1")))
        #expect(try !AddressRange(parsing: "198.18.3.1").contains(try address("198.18.3.2")))
        #expect(try AddressRange(parsing: "0.0.0.0/0").contains(try address("8.8.8.8")))
        #expect(try AddressRange(parsing: "10.9.8.7/8").description == "10.0.0.0/8")
    }

    @Test func ipv6RangesAndMappedAddresses() throws {
        #expect(try AddressRange(parsing: "fc00::/7").contains(try address("fd12:3456::1")))
        #expect(try !AddressRange(parsing: "fc00::/7").contains(try address("2001:db8::1")))
        #expect(try AddressRange(parsing: "fe80::/10").contains(try address("fe80::1")))
        // An IPv4-mapped IPv6 address is its IPv4 address: ::ffff:127.0.0.1 is loopback.
        #expect(try AddressRange(parsing: "127.0.0.0/8").contains(try address("::ffff:127.0.0.1")))
        #expect(try !AddressRange(parsing: "::1/128").contains(try address("127.0.0.1")))
    }

    /// A name that resolves to the NAT64 or 6to4 form of an internal IPv4
    /// address leads inward as surely as the address itself.
    @Test func ipv4RangesHoldTheirNAT64And6to4Forms() throws {
        let range = try AddressRange(parsing: "10.0.0.0/8")
        #expect(range.contains(try address("64:ff9b::10.20.30.40")))
        #expect(range.contains(try address("64:ff9b::a14:1e28")))
        #expect(!range.contains(try address("64:ff9b::8.8.8.8")))
        #expect(range.contains(try address("2002:a14:1e28::1")))
        #expect(!range.contains(try address("2002:808:808::1")))
        // Only the well-known NAT64 prefix: another prefix is not read as one.
        #expect(!range.contains(try address("64:ff9c::10.20.30.40")))
        #expect(AddressRange.alwaysInternal.contains { $0.contains(try! address("64:ff9b::127.0.0.1")) })
        // IPv6 ranges stay IPv6: fc00::/7 does not hold a NAT64 address.
        #expect(try !AddressRange(parsing: "fc00::/7").contains(try address("64:ff9b::10.20.30.40")))
    }

    /// A network's own NAT64 prefix (--nat64-prefix): each IPv4 range has
    /// an IPv6 form under it.
    @Test func anIPv4RangeHasAFormUnderANetworkSpecificNAT64Prefix() throws {
        let prefix = try AddressRange(nat64Prefix: "2001:db8:64::/96")
        let form = try #require(try AddressRange(parsing: "10.0.0.0/8").nat64Form(prefix: prefix))
        #expect(form.description == "2001:db8:64:0:0:0:a00:0/104")
        #expect(form.contains(try address("2001:db8:64::10.20.30.40")))
        #expect(!form.contains(try address("2001:db8:64::11.0.0.1")))
        #expect(!form.contains(try address("2001:db8:65::10.20.30.40")))
        let one = try #require(try AddressRange(parsing: "198.18.3.1").nat64Form(prefix: prefix))
        #expect(one.contains(try address("2001:db8:64::c612:301")))
        #expect(!one.contains(try address("2001:db8:64::c612:302")))
        // Only IPv4 ranges have one.
        #expect(try AddressRange(parsing: "fc00::/7").nat64Form(prefix: prefix) == nil)
        for bad in ["2001:db8:64::/64", "10.0.0.0/8", "2001:db8:64::1"] {
            #expect(throws: AddressRange.ParseError.self, "\(bad)") { try AddressRange(nat64Prefix: bad) }
        }
    }

    @Test func theDefaultsCoverLoopbackLinkLocalAndPrivate() throws {
        let inside = ["127.0.0.1", "169.254.169.254", "10.2.3.4", "172.20.0.1", "192.168.1.1", "0.0.0.0", "::1", "fe80::1", "fd00::1", "::ffff:10.0.0.1"]
        for text in inside {
            let a = try address(text)
            #expect(AddressRange.defaultInternal.contains { $0.contains(a) }, "\(text) should be internal")
        }
        for text in ["198.18.3.10", "93.184.216.34", "2001:db8::1", "100.64.0.1"] {
            let a = try address(text)
            #expect(!AddressRange.defaultInternal.contains { $0.contains(a) }, "\(text) should not be internal")
        }
    }

    @Test func badRangesSayWhatIsWrong() {
        #expect(throws: AddressRange.ParseError.self) { try AddressRange(parsing: "10.0.0/8") }
        do {
            _ = try AddressRange(parsing: "10.0.0.0/33")
            Issue.record("accepted a /33")
        } catch {
            #expect("\(error)".contains("prefix length must be 0-32"))
        }
        do {
            _ = try AddressRange(parsing: "cluster.local/16")
            Issue.record("accepted a name")
        } catch {
            #expect("\(error)".contains("'cluster.local' is not an IPv4 or IPv6 address"))
        }
    }

    @Test func everyBuiltInRangeParses() {
        // The built-in lists drop a literal that does not parse; none may.
        #expect(AddressRange.alwaysInternal.count == 4)
        #expect(AddressRange.defaultInternal.count == 10)
    }
}
