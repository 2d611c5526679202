import Testing
@testable import PolicyLang

@Suite("Evaluator: verdict rules")
struct VerdictTests {
    @Test func denyBeatsAllowWhereverItStands() throws {
        let index = try compile(
            """
            allow * -> x.com
            allow ns:dev -> x.com
            deny  ns:dev -> x.com as dev-block
            """)
        let dev = index.decide(source: workload(ns: "dev"), host: "x.com", port: 443)
        #expect(dev.verdict == .deny)
        #expect(dev.ruleLocation == "policy.egress:3")
        #expect(dev.rule?.name == "dev-block")
        #expect(dev.rule?.effect == .deny)
        let shop = index.decide(source: workload(ns: "shop"), host: "x.com", port: 443)
        #expect(shop.verdict == .allow)
        #expect(shop.ruleLocation == "policy.egress:1")
    }

    @Test func noMatchingRuleIsADefaultDenyWithoutARule() throws {
        let index = try compile("allow ns:shop -> x.com\ndeny ns:dev -> y.com\n")
        for decision in [
            index.decide(source: workload(ns: "shop"), host: "y.com", port: 443),
            index.decide(source: nil, host: "x.com", port: 443),
            index.decide(source: workload(ns: "ci"), host: "z.com", port: 443),
        ] {
            #expect(decision.verdict == .deny)
            #expect(decision.rule == nil)
            #expect(decision.dryRunVerdict == .deny)
            #expect(decision.dryRunRule == nil)
        }
    }

    @Test func anEmptyPolicySetDeniesEverything() throws {
        let index = try compile("# nothing yet\n")
        let decision = index.decide(source: nil, host: "x.com", port: 443)
        #expect(decision.verdict == .deny)
        #expect(decision.rule == nil)
    }

    @Test func theFirstMatchingRuleOfTheWinningEffectDecides() throws {
        let index = try compile(
            """
            allow ns:ci -> *.github.com
            allow app=web -> *.example.com as web-any
            allow * -> api.example.com as everyone
            allow ns:shop -> api.example.com
            deny  ns:dev -> *.example.com as dev-1
            deny  ns:dev, app=web -> api.example.com as dev-2
            """)
        let web = index.decide(source: workload(ns: "shop", labels: ["app": "web"]), host: "api.example.com", port: 443)
        #expect(web.verdict == .allow)
        #expect(web.ruleLocation == "policy.egress:2")
        #expect(web.rule?.name == "web-any")
        let shop = index.decide(source: workload(ns: "shop"), host: "api.example.com", port: 443)
        #expect(shop.rule?.name == "everyone")
        let devWeb = index.decide(source: workload(ns: "dev", labels: ["app": "web"]), host: "api.example.com", port: 443)
        #expect(devWeb.verdict == .deny)
        #expect(devWeb.rule?.name == "dev-1")
    }

    @Test func rulesAreOrderedBySortedPathThenLine() throws {
        // Passed in any order; `10-apps` sorts before `9-cluster` as text.
        let index = try compile([
            (path: "policies/9-cluster.egress", text: "allow * -> x.com as cluster\ndeny * -> bad.com as cluster-deny\n"),
            (path: "policies/10-apps.egress", text: "\n\nallow app=a -> x.com as apps\ndeny app=a -> bad.com as apps-deny\n"),
            (path: "policies/00-base.egress", text: "# only comments\n"),
        ])
        let decision = index.decide(source: workload(labels: ["app": "a"]), host: "x.com", port: 443)
        #expect(decision.rule?.file == "policies/10-apps.egress")
        #expect(decision.rule?.line == 3)
        #expect(decision.rule?.description == "policies/10-apps.egress:3 (apps)")
        #expect(index.decide(source: workload(labels: ["app": "a"]), host: "bad.com", port: 443).rule?.name == "apps-deny")
        #expect(index.decide(source: nil, host: "x.com", port: 443).rule?.description == "policies/9-cluster.egress:1 (cluster)")
        #expect(index.rules.map(\.name) == ["apps", "apps-deny", "cluster", "cluster-deny"])
        #expect(index.rules.map(\.index) == [0, 1, 2, 3])
    }

    @Test func aRuleIsNamedByTheLineItStartsOn() throws {
        let index = try compile("# head\n\nallow ns:a,\n      app=b -> one.com,\n      two.com\n")
        let decision = index.decide(source: workload(ns: "a", labels: ["b": "x", "app": "b"]), host: "two.com", port: 443)
        #expect(decision.rule?.description == "policy.egress:3")
        #expect(decision.rule?.name == nil)
    }
}

@Suite("Evaluator: dry-run")
struct DryRunTests {
    static let policy = """
        allow ns:shop -> *.s3.amazonaws.com:443 as shop-s3
        deny  ns:shop, tier in (batch) -> shop-assets.s3.amazonaws.com dry-run as batch-s3
        allow ns:ci -> github.com dry-run
        deny  * -> pastebin.com dry-run as paste-dry
        deny  * -> pastebin.com as paste
        allow * -> pastebin.com
        """

    @Test func aDryRunDenyDoesNotChangeTheVerdictButIsReported() throws {
        let index = try compile(Self.policy)
        let decision = index.decide(
            source: workload(ns: "shop", labels: ["tier": "batch"]), host: "shop-assets.s3.amazonaws.com", port: 443)
        #expect(decision.verdict == .allow)
        #expect(decision.rule?.name == "shop-s3")
        #expect(decision.dryRunVerdict == .deny)
        #expect(decision.dryRunRule?.name == "batch-s3")
        #expect(decision.dryRunRule?.dryRun == true)
        #expect(decision.dryRunRule?.location == "policy.egress:2")
    }

    @Test func aDryRunAllowDoesNotLiftTheDefaultDeny() throws {
        let index = try compile(Self.policy)
        let decision = index.decide(source: workload(ns: "ci"), host: "github.com", port: 443)
        #expect(decision.verdict == .deny)
        #expect(decision.rule == nil)
        #expect(decision.dryRunVerdict == .allow)
        #expect(decision.dryRunRule?.location == "policy.egress:3")
    }

    @Test func theDryRunEvaluationTakesTheFirstMatchingRuleOfAnyKind() throws {
        let index = try compile(Self.policy)
        let decision = index.decide(source: nil, host: "pastebin.com", port: 443)
        #expect(decision.verdict == .deny)
        #expect(decision.rule?.name == "paste")
        #expect(decision.dryRunVerdict == .deny)
        #expect(decision.dryRunRule?.name == "paste-dry")
    }

    @Test func withoutDryRunRulesBothEvaluationsAgree() throws {
        let index = try compile(Self.policy)
        let decision = index.decide(source: workload(ns: "shop"), host: "a.s3.amazonaws.com", port: 443)
        #expect(decision.verdict == .allow)
        #expect(decision.dryRunVerdict == .allow)
        #expect(decision.dryRunRule == decision.rule)
        let denied = index.decide(source: workload(ns: "shop"), host: "a.s3.amazonaws.com", port: 80)
        #expect(denied.verdict == .deny)
        #expect(denied.dryRunVerdict == .deny)
        #expect(denied.rule == nil)
        #expect(denied.dryRunRule == nil)
    }

    @Test func anEnforcedDenyStillDecidesTheDryRunVerdictWhenItComesFirst() throws {
        let index = try compile("deny ns:dev -> x.com as hard\ndeny ns:dev -> x.com dry-run as soft\nallow * -> x.com dry-run\n")
        let decision = index.decide(source: workload(ns: "dev"), host: "x.com", port: 443)
        #expect(decision.rule?.name == "hard")
        #expect(decision.dryRunRule?.name == "hard")
        let other = index.decide(source: workload(ns: "shop"), host: "x.com", port: 443)
        #expect(other.verdict == .deny)
        #expect(other.rule == nil)
        #expect(other.dryRunVerdict == .allow)
        #expect(other.dryRunRule?.location == "policy.egress:3")
    }
}

@Suite("Evaluator: hosts")
struct HostMatchingTests {
    @Test func wildcardMatchesAnyDepthBelowButNotTheSuffix() throws {
        let index = try compile("allow * -> *.bar.com\n")
        for host in ["x.bar.com", "a.b.bar.com", "a.b.c.d.bar.com", "X.BAR.COM", "x.bar.com."] {
            #expect(index.verdict(nil, host) == .allow, "\(host)")
        }
        for host in ["bar.com", "bar.com.", "xbar.com", "bar.com.evil.com", "x.bar.co", "com", "x.bar.com.evil"] {
            #expect(index.verdict(nil, host) == .deny, "\(host)")
        }
    }

    @Test func exactNamesCompareCaseInsensitivelyAndIgnoreOneTrailingDot() throws {
        let index = try compile("allow * -> service1.foo.com\nallow * -> Mixed.Case.ORG.\n")
        for host in ["service1.foo.com", "SERVICE1.Foo.COM.", "service1.foo.com.", "mixed.case.org", "MIXED.case.org."] {
            #expect(index.verdict(nil, host) == .allow, "\(host)")
        }
        for host in ["service1.foo.com..", "x.service1.foo.com", "service1.foo.co", "foo.com", "service1", "ervice1.foo.com"] {
            #expect(index.verdict(nil, host) == .deny, "\(host)")
        }
    }

    @Test func exactAndWildcardOnTheSameSuffixAreIndependent() throws {
        let index = try compile("allow * -> foo.com as exact\nallow * -> *.foo.com as below\ndeny * -> *.x.foo.com as deny-below-x\n")
        #expect(index.decide(source: nil, host: "foo.com", port: 443).rule?.name == "exact")
        #expect(index.decide(source: nil, host: "x.foo.com", port: 443).rule?.name == "below")
        #expect(index.decide(source: nil, host: "a.x.foo.com", port: 443).rule?.name == "deny-below-x")
    }

    static let longName = [String](repeating: String(repeating: "a", count: 60), count: 5).joined(separator: ".") + ".com"

    /// Requested hosts that are not DNS names, most next to a pattern that would match them as text.
    /// (Patterns that are IP addresses are refused: see DiagnosticTests.)
    @Test(arguments: [
        "198.18.0.1", "10.0.0.1.", "", ".", "..", "a..b.com", ".a.com", "-a.com", "a-.com", "a_b.com", "a b.com", "x.com ",
        " x.com", "x.com..", "bücher.de", "[::1]", "x.com:443", "a\u{0}.com", longName, String(repeating: "b", count: 64) + ".com",
    ])
    func invalidRequestedHostsMatchOnlyStar(_ host: String) throws {
        let index = try compile(
            """
            allow * -> *.com, *.de
            allow * -> *:8443 as star
            """)
        #expect(index.decide(source: nil, host: host, port: 443).verdict == .deny)
        #expect(index.decide(source: nil, host: host, port: 443).rule == nil)
        let star = index.decide(source: nil, host: host, port: 8443)
        #expect(star.verdict == .allow)
        #expect(star.rule?.name == "star")
    }

    @Test func starMatchesEveryHost() throws {
        let index = try compile("allow * -> *\n")
        for host in ["x.com", "198.18.0.1", "", "a..b", "_", "ü", Self.longName, String(repeating: "x", count: 300)] {
            #expect(index.verdict(nil, host) == .allow, "\(host.debugDescription)")
        }
    }

    @Test func longestValidNamesMatch() throws {
        let label = String(repeating: "a", count: 63)
        let name = [label, label, label, String(repeating: "b", count: 61)].joined(separator: ".")
        let index = try compile("allow * -> \(name)\nallow * -> *.\(label).com\n")
        #expect(index.verdict(nil, name) == .allow)
        #expect(index.verdict(nil, name.uppercased() + ".") == .allow)
        #expect(index.verdict(nil, "x." + label + ".com") == .allow)
    }

    @Test func aLargeSetFindsEveryHost() throws {
        // Thousands of names sharing labels, so the trie's table grows and collides.
        var lines: [String] = []
        for i in 0..<3000 { lines.append("allow ns:n\(i % 7) -> h\(i).d\(i % 13).example.com, *.w\(i).d\(i % 13).example.com:\(1000 + i)") }
        let index = try compile(lines.joined(separator: "\n"))
        for i in stride(from: 0, to: 3000, by: 7) {
            let source = workload(ns: "n\(i % 7)")
            #expect(index.decide(source: source, host: "h\(i).d\(i % 13).example.com", port: 443).rule?.line == i + 1)
            #expect(index.decide(source: source, host: "a.b.w\(i).d\(i % 13).example.com", port: 1000 + i).rule?.line == i + 1)
            #expect(index.verdict(source, "w\(i).d\(i % 13).example.com", port: 1000 + i) == .deny)
            #expect(index.verdict(source, "h\(i).d\((i + 1) % 13).example.com") == .deny)
            #expect(index.verdict(workload(ns: "n\((i + 1) % 7)"), "h\(i).d\(i % 13).example.com") == .deny)
        }
    }

    @Test func ipLiteralsAreReachedOnlyThroughStar() throws {
        // A requested IP literal matches no pattern but `*`; patterns that are
        // IP addresses are refused at load time (see DiagnosticTests).
        #expect(PolicySet(files: [SourceFile(path: "p.egress", text: "allow * -> 198.18.0.1, *.0.1\n")]).policyErrors.count == 2)
        let index = try compile("allow * -> *.com\nallow ns:a -> *\n")
        #expect(index.verdict(nil, "198.18.0.1") == .deny)
        #expect(index.verdict(workload(ns: "a"), "198.18.0.1") == .allow)
    }
}

@Suite("Evaluator: ports")
struct PortMatchingTests {
    @Test func portsAndRangesRestrictARule() throws {
        let index = try compile(
            """
            allow * -> single.com:443
            allow * -> range.com:8000-8080, *.range.com:1-1
            allow * -> any.com
            allow * -> *:9999
            hosts pki = ocsp.com:80
            allow * -> $pki
            """)
        let cases: [(String, Int, Verdict)] = [
            ("single.com", 443, .allow), ("single.com", 80, .deny), ("single.com", 444, .deny),
            ("range.com", 8000, .allow), ("range.com", 8080, .allow), ("range.com", 8040, .allow),
            ("range.com", 7999, .deny), ("range.com", 8081, .deny),
            ("x.range.com", 1, .allow), ("x.range.com", 2, .deny),
            ("any.com", 1, .allow), ("any.com", 443, .allow), ("any.com", 65535, .allow),
            ("anything.example", 9999, .allow), ("anything.example", 9998, .deny),
            ("ocsp.com", 80, .allow), ("ocsp.com", 443, .deny),
        ]
        for (host, port, verdict) in cases {
            #expect(index.verdict(nil, host, port: port) == verdict, "\(host):\(port)")
        }
    }

    @Test func aPortRestrictedDenyLeavesOtherPortsToTheAllow() throws {
        let index = try compile("allow * -> x.com as all-ports\ndeny * -> x.com:22 as no-ssh\n")
        #expect(index.decide(source: nil, host: "x.com", port: 22).rule?.name == "no-ssh")
        #expect(index.decide(source: nil, host: "x.com", port: 23).rule?.name == "all-ports")
    }

    @Test func oneRuleMayNameTheSameHostOnSeveralPorts() throws {
        let index = try compile("allow * -> x.com:80, x.com:443, x.com:8000-8001\n")
        #expect([79, 80, 443, 8000, 8001, 8002].map { index.verdict(nil, "x.com", port: $0) } == [.deny, .allow, .allow, .allow, .allow, .deny])
    }
}

@Suite("Evaluator: selectors")
struct SelectorMatchingTests {
    @Test func anUnknownSourceMatchesOnlyStar() throws {
        let index = try compile(
            """
            allow !app -> absent.com
            allow app notin (a) -> notin.com
            allow app!=a -> ne.com
            allow * -> star.com
            """)
        for host in ["absent.com", "notin.com", "ne.com"] {
            #expect(index.verdict(nil, host) == .deny, "\(host)")
            #expect(index.verdict(workload(ns: "x"), host) == .allow, "\(host)")
        }
        #expect(index.verdict(nil, "star.com") == .allow)
    }

    @Test func anIdentityWithNothingKnownIsAnUnknownSource() throws {
        // SourceIdentity.isEmpty documents that such a source is treated as unknown.
        let index = try compile("allow !app -> absent.com\nallow app notin (a) -> notin.com\nallow app!=a -> ne.com\n")
        for host in ["absent.com", "notin.com", "ne.com"] {
            #expect(index.verdict(SourceIdentity(), host) == .deny, "\(host)")
        }
    }

    @Test func namespaceServiceAccountAndSpiffeCompareExactly() throws {
        let index = try compile(
            """
            allow ns:shop, sa:checkout -> pay.com
            allow spiffe:spiffe://cluster.local/ns/shop/sa/web -> web.com
            """)
        #expect(index.verdict(workload(ns: "shop", sa: "checkout"), "pay.com") == .allow)
        #expect(index.verdict(workload(ns: "shop", sa: "checkout", labels: ["app": "x"]), "pay.com") == .allow)
        #expect(index.verdict(workload(ns: "shop"), "pay.com") == .deny)
        #expect(index.verdict(workload(sa: "checkout"), "pay.com") == .deny)
        #expect(index.verdict(workload(ns: "shop2", sa: "checkout"), "pay.com") == .deny)
        #expect(index.verdict(workload(ns: "Shop", sa: "checkout"), "pay.com") == .deny)
        #expect(index.verdict(workload(spiffe: "spiffe://cluster.local/ns/shop/sa/web"), "web.com") == .allow)
        #expect(index.verdict(workload(spiffe: "spiffe://cluster.local/ns/shop/sa/web2"), "web.com") == .deny)
        #expect(index.verdict(workload(ns: "shop", sa: "web"), "web.com") == .deny)
    }

    @Test(arguments: [
        ("pod:web-1", "web-1", true), ("pod:web-1", "web-12", false), ("pod:web-1", "web", false),
        ("pod:web-*", "web-1", true), ("pod:web-*", "web-", true), ("pod:web-*", "web-abc-7f9", true),
        ("pod:web-*", "web", false), ("pod:web-*", "api-web-1", false),
        ("pod:*-canary", "web-canary", true), ("pod:*-canary", "web-canary-2", false),
        ("pod:a*b*c", "abc", true), ("pod:a*b*c", "axxbyyc", true), ("pod:a*b*c", "axxbyy", false),
        ("pod:a*b*c", "abcbc", true), ("pod:a*b*c", "acb", false), ("pod:*", "anything", true),
        ("pod:web-*-db", "web-1-db", true), ("pod:web-*-db", "web--db", true), ("pod:web-*-db", "web-db", false),
    ])
    func podNamesAndGlobs(_ term: String, _ pod: String, _ matches: Bool) throws {
        let index = try compile("allow \(term) -> x.com\n")
        #expect(index.verdict(workload(pod: pod), "x.com") == (matches ? .allow : .deny))
        #expect(index.verdict(workload(ns: "a"), "x.com") == .deny, "a workload without a known pod name")
    }

    /// Kubernetes label-selector meaning, for a workload without the label, with it set to
    /// `a`, and with it set to `b`.
    @Test(arguments: [
        ("app=a", false, true, false), ("app==a", false, true, false), ("app!=a", true, false, true),
        ("app in (a, c)", false, true, false), ("app notin (a, c)", true, false, true),
        ("app", false, true, true), ("!app", true, false, false),
        ("example.com/app=a", false, false, false),
    ])
    func labelTerms(_ term: String, _ absent: Bool, _ valueA: Bool, _ valueB: Bool) throws {
        let index = try compile("allow \(term) -> x.com\n")
        let verdict: (Bool) -> Verdict = { $0 ? .allow : .deny }
        #expect(index.verdict(workload(ns: "n", labels: ["other": "a"]), "x.com") == verdict(absent))
        #expect(index.verdict(workload(ns: "n", labels: ["app": "a"]), "x.com") == verdict(valueA))
        #expect(index.verdict(workload(ns: "n", labels: ["app": "b"]), "x.com") == verdict(valueB))
    }

    @Test func prefixedLabelKeysAreDistinctKeys() throws {
        let index = try compile("allow app.kubernetes.io/name=web -> x.com\n")
        #expect(index.verdict(workload(labels: ["app.kubernetes.io/name": "web"]), "x.com") == .allow)
        #expect(index.verdict(workload(labels: ["name": "web"]), "x.com") == .deny)
    }

    @Test func labelValuesAreCaseSensitive() throws {
        let index = try compile("allow app=Web -> x.com\n")
        #expect(index.verdict(workload(labels: ["app": "Web"]), "x.com") == .allow)
        #expect(index.verdict(workload(labels: ["app": "web"]), "x.com") == .deny)
    }

    @Test func everyTermMustHold() throws {
        let index = try compile("allow ns:shop, sa:web, pod:web-*, app=web, tier in (a, b), !legacy -> x.com\n")
        let full = workload(ns: "shop", sa: "web", pod: "web-7", labels: ["app": "web", "tier": "b"])
        #expect(index.verdict(full, "x.com") == .allow)
        var missing = [SourceIdentity](repeating: full, count: 6)
        missing[0].namespace = "dev"
        missing[1].serviceAccount = nil
        missing[2].pod = "api-7"
        missing[3].labels["app"] = "api"
        missing[4].labels["tier"] = "c"
        missing[5].labels["legacy"] = "true"
        for source in missing {
            #expect(index.verdict(source, "x.com") == .deny, "\(source)")
        }
    }
}
