import NIOCore
import Testing

import EgressAPI

/// The one spelling of an address in the inventory, lookups and the audit trail.
struct IPAddressTextTests {
    @Test func canonicalIPv4IsTakenAsItIs() {
        for text in ["198.18.0.1", "0.0.0.0", "255.255.255.255", "10.0.10.100"] {
            #expect(IPAddressText.isCanonicalIPv4(text.utf8))
            #expect(IPAddressText.normalize(text) == text)
        }
    }

    @Test func otherSpellingsAreParsedOrRefused() {
        #expect(IPAddressText.normalize("::ffff:198.18.0.1") == "198.18.0.1")
        #expect(IPAddressText.normalize("2001:DB8:0::1") == "2001:db8::1")
        for text in ["01.2.3.4", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1..2.3", "1.2.3.", ".1.2.3", "1.2.3.4 ", "1.2.3.4%eth0", "", "a.b.c.d"] {
            #expect(!IPAddressText.isCanonicalIPv4(text.utf8), "\(text)")
            #expect(IPAddressText.normalize(text) == nil, "\(text)")
        }
    }

    /// The shortcut answers exactly what inet_pton and inet_ntop would, over
    /// every part value and the shapes around it.
    @Test func theShortcutAgreesWithTheSystemParser() throws {
        var texts: [String] = []
        for part in 0...300 { texts += ["\(part).1.2.3", "1.\(part).2.3", "1.2.3.\(part)", "0\(part).1.1.1", "1.1.1.00\(part)"] }
        for text in texts {
            let parsed = (try? SocketAddress(ipAddress: text, port: 0))?.ipAddress
            if IPAddressText.isCanonicalIPv4(text.utf8) {
                #expect(parsed == text, "\(text)")
            } else {
                #expect(parsed != text, "\(text)")
            }
        }
    }
}
