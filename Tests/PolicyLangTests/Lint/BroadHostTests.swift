import Foundation
import Testing
@testable import PolicyLang

/// `broad-host`: an allowed `*`, or a wildcard directly under a public suffix.
@Suite("Lint: broad-host")
struct BroadHostTests {
    static let smallList = PublicSuffixList(
        text: """
            // A few rules of each kind, as in the real list.
            com
            co.uk
            *.ck
            !www.ck
            s3.amazonaws.com
            """)

    @Test func wildcardsDirectlyUnderAPublicSuffix() {
        let findings = LintMarkers(
            """
            allow * -> *.com                    # expect: broad-host
            allow * -> *.co.uk                  # expect: broad-host
            allow * -> *.uk                     # expect: broad-host
            allow * -> *.foo.ck                 # expect: broad-host
            allow * -> *.s3.amazonaws.com:443   # expect: broad-host
            allow * -> *.example.com
            allow * -> *.example.co.uk
            allow * -> *.www.ck
            allow * -> *.amazonaws.com
            allow * -> *.bucket.s3.amazonaws.com
            allow * -> com, co.uk, s3.amazonaws.com
            """
        ).check(.broadHost, publicSuffixes: Self.smallList)
        #expect(findings.prefix(2).map(\.rendered) == [
            "policy.egress:1:12: warning: '*.com' allows every name under the public suffix 'com', whoever registered it [broad-host]",
            "policy.egress:2:12: warning: '*.co.uk' allows every name under the public suffix 'co.uk', whoever registered it [broad-host]",
        ])
        #expect(findings.prefix(2).map(\.help) == [
            "list the domains you need, as in *.example.com", "list the domains you need, as in *.example.co.uk",
        ])
    }

    @Test func anAllowedStarExceptInAllowAll() {
        let findings = LintMarkers(
            """
            allow app=web -> *            # expect: broad-host
            allow * -> *:443              # expect: broad-host
            allow * -> x.com, *           # allowed: broad-host
            allow * -> *
            allow ns:a -> *.com, *        # expect: broad-host, broad-host
            """
        ).check(.broadHost, publicSuffixes: Self.smallList)
        #expect(findings.first?.message == "'*' allows every host name")
        #expect(findings.first?.help == "list the domains you need, as in *.example.com")
    }

    @Test func denyRulesMayBeAsBroadAsTheyLike() {
        LintMarkers(
            """
            deny * -> *
            deny ns:dev -> *.com, *.co.uk
            deny * -> *.foo.ck dry-run
            allow * -> x.example.com
            """
        ).check(.broadHost, publicSuffixes: Self.smallList)
    }

    @Test func dryRunAllowsCountToo() {
        LintMarkers("allow * -> *.com dry-run   # expect: broad-host\n").check(.broadHost, publicSuffixes: Self.smallList)
    }

    @Test func hostListsUsedByAllowRulesAreReportedWhereTheyAreDefined() {
        let findings = LintMarkers(files: [
            (path: "a.egress", text: "hosts wide = ok.example.com,\n   *.co.uk   # expect: broad-host\nhosts deny-only = *.com, *\nhosts unused = *.com\n"),
            (path: "b.egress", text: "allow ns:a -> $wide\nallow ns:b -> $wide\ndeny * -> $deny-only\n"),
        ]).check(.broadHost, publicSuffixes: Self.smallList)
        #expect(findings.map(\.message) == [
            "'*.co.uk' allows every name under the public suffix 'co.uk', whoever registered it (host list 'wide' is used by allow rules)"
        ])
    }

    @Test func withoutAListOnlySingleLabelsArePublicSuffixes() {
        LintMarkers(
            """
            allow * -> *.com     # expect: broad-host
            allow * -> *.org     # expect: broad-host
            allow * -> *.co.uk
            """
        ).check(.broadHost, publicSuffixes: .implicitOnly)
    }

    @Test func theListReadsCommentsBlanksCRLFAndUnicodeRules() {
        let list = PublicSuffixList(text: "// ===BEGIN ICANN DOMAINS===\r\n\r\nco.uk extra text\r\n公司.cn\r\n*.kawasaki.jp\r\n!city.kawasaki.jp\r\n")
        #expect(list.count == 4)
        #expect(list.isPublicSuffix("co.uk"))
        #expect(list.isPublicSuffix("xn--55qx5d.cn"))
        #expect(list.isPublicSuffix("anything.kawasaki.jp"))
        #expect(list.isPublicSuffix("kawasaki.jp") == false)
        #expect(list.isPublicSuffix("city.kawasaki.jp") == false)
        #expect(list.isPublicSuffix("jp"))
        #expect(list.isPublicSuffix("example.co.uk") == false)
    }

    static let debianList = PublicSuffixList.debianPath

    @Test(.enabled(if: FileManager.default.fileExists(atPath: debianList), "Debian's publicsuffix package is not installed"))
    func theRealPublicSuffixList() throws {
        let text = try String(contentsOfFile: Self.debianList, encoding: .utf8)
        let list = PublicSuffixList(text: text)
        #expect(list.count > 5000)
        LintMarkers(
            """
            allow * -> *.com                  # expect: broad-host
            allow * -> *.co.uk                # expect: broad-host
            allow * -> *.foo.ck               # expect: broad-host
            allow * -> *.s3.amazonaws.com     # expect: broad-host
            allow * -> *.github.io            # expect: broad-host
            allow * -> *.xn--55qx5d.cn        # expect: broad-host
            allow * -> *.www.ck
            allow * -> *.example.com
            allow * -> *.example.co.uk
            allow * -> *.bucket.s3.amazonaws.com
            """
        ).check(.broadHost, publicSuffixes: list)
    }

    /// `allow * -> $all` with `hosts all = *` is `allow-all`'s finding; the
    /// same list used by a scoped allow is still too broad.
    @Test func bareStarInAListUsedOnlyByAllowAllIsLeftToAllowAll() {
        LintMarkers(
            """
            hosts all = *
            allow * -> $all
            """
        ).check(.broadHost)
        LintMarkers(
            """
            hosts all = *    # expect: broad-host
            allow * -> $all
            allow ns:shop -> $all
            """
        ).check(.broadHost)
    }
}
