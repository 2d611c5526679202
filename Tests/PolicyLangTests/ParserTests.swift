import Testing
@testable import PolicyLang

/// The one rule of a file that must parse cleanly.
private func onlyRule(_ text: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) throws -> Rule {
    let file = parse(text)
    #expect(file.diagnostics.map(\.rendered) == [], sourceLocation: sourceLocation)
    #expect(file.statements.count == 1, sourceLocation: sourceLocation)
    return try #require(file.rules.first, sourceLocation: sourceLocation)
}

private func port(_ low: Int, _ high: Int? = nil) -> PortRange { PortRange(low: low, high: high ?? low) }

@Suite("Parser: statements")
struct StatementParsingTests {
    @Test func ruleWithEveryPart() throws {
        let file = parse("allow ns:shop, sa:checkout -> api.stripe.com:443, *.stripe.com as pay dry-run\n")
        #expect(file.diagnostics.isEmpty)
        #expect(
            file.statements.map(\.meaning) == [
                .rule(
                    effect: .allow, selector: .all([.namespace("shop"), .serviceAccount("checkout")]),
                    hosts: [.pattern(.exact("api.stripe.com"), port(443)), .pattern(.wildcard(suffix: "stripe.com"), nil)],
                    name: "pay", dryRun: true)
            ])
    }

    @Test func denyRuleWithStarSelector() throws {
        let rule = try onlyRule("deny * -> pastebin.com")
        #expect(rule.effect == .deny)
        #expect(rule.selector == .any)
        #expect(rule.hosts.map(\.meaning) == [.pattern(.exact("pastebin.com"), nil)])
        #expect(rule.name == nil)
        #expect(rule.dryRun == false)
    }

    @Test(arguments: [
        "allow ns:a -> x.com as ci-git dry-run",
        "allow ns:a -> x.com dry-run as ci-git",
    ])
    func nameAndDryRunInEitherOrder(_ text: String) throws {
        let rule = try onlyRule(text)
        #expect(rule.name == "ci-git")
        #expect(rule.dryRun)
    }

    @Test func nameMayHoldDotsAndUnderscores() throws {
        #expect(try onlyRule("allow ns:a -> x.com as team_a.rule-1").name == "team_a.rule-1")
    }

    @Test func dryRunWithoutName() throws {
        let rule = try onlyRule("deny ns:shop, tier in (batch) -> *.s3.amazonaws.com  dry-run")
        #expect(rule.dryRun)
        #expect(rule.name == nil)
        #expect(rule.hosts.map(\.meaning) == [.pattern(.wildcard(suffix: "s3.amazonaws.com"), nil)])
    }

    @Test func hostListDeclarationAndReference() throws {
        let file = parse(
            """
            hosts stripe = api.stripe.com:443, files.stripe.com
            allow ns:shop, sa:checkout -> $stripe, extra.example.com
            """)
        #expect(file.diagnostics.isEmpty)
        #expect(
            file.statements.map(\.meaning) == [
                .hosts(
                    name: "stripe",
                    items: [.pattern(.exact("api.stripe.com"), port(443)), .pattern(.exact("files.stripe.com"), nil)]),
                .rule(
                    effect: .allow, selector: .all([.namespace("shop"), .serviceAccount("checkout")]),
                    hosts: [.reference("stripe"), .pattern(.exact("extra.example.com"), nil)], name: nil, dryRun: false),
            ])
    }

    @Test func hostListReferenceIsExpandedInPolicyOrder() throws {
        let set = PolicySet(files: [
            SourceFile(path: "b.egress", text: "allow ns:a -> $web, other.com\n"),
            SourceFile(path: "a.egress", text: "hosts web = a.com:80, *.b.com\n"),
        ])
        #expect(set.diagnostics.isEmpty)
        let rule = try #require(set.rules.first)
        #expect(rule.file.path == "b.egress")
        #expect(rule.hosts.map(\.pattern) == [.exact("a.com"), .wildcard(suffix: "b.com"), .exact("other.com")])
        #expect(rule.hosts.map(\.ports) == [port(80), nil, nil])
        #expect(rule.hosts.map(\.via) == ["web", "web", nil])
    }

    @Test func statementsKeepTheirOrder() throws {
        let file = parse(
            """
            deny  ns:dev -> *.prod.example.com
            hosts h = a.com
            allow * -> $h
            """)
        #expect(file.diagnostics.isEmpty)
        let kinds = file.statements.map { statement -> String in
            switch statement {
            case .rule(let rule): return rule.effect.rawValue
            case .hosts: return "hosts"
            case .expectation: return "expect"
            }
        }
        #expect(kinds == ["deny", "hosts", "allow"])
    }

    @Test func emptyAndCommentOnlyFilesHaveNoStatements() {
        for text in ["", "\n\n", "# only a comment\n", "   \t\n# a\n\n# b"] {
            let file = parse(text)
            #expect(file.statements.isEmpty, "\(text.debugDescription)")
            #expect(file.diagnostics.isEmpty, "\(text.debugDescription)")
        }
    }
}

@Suite("Parser: selector terms")
struct SelectorParsingTests {
    @Test(arguments: [
        ("ns:shop", SelectorTerm.namespace("shop")),
        ("sa:checkout", .serviceAccount("checkout")),
        ("sa:system.checkout-1", .serviceAccount("system.checkout-1")),
        ("pod:web-1", .pod("web-1")),
        ("pod:web-*", .pod("web-*")),
        ("pod:*-canary", .pod("*-canary")),
        ("spiffe:spiffe://cluster.local/ns/shop/sa/web", .spiffe("spiffe://cluster.local/ns/shop/sa/web")),
        ("app=web", .labelEquals(key: "app", value: "web")),
        ("app==web", .labelEquals(key: "app", value: "web")),
        ("app = web", .labelEquals(key: "app", value: "web")),
        ("app!=web", .labelNotEquals(key: "app", value: "web")),
        ("app != web", .labelNotEquals(key: "app", value: "web")),
        ("tier in (batch)", .labelIn(key: "tier", values: ["batch"])),
        ("tier in (batch, online,cron)", .labelIn(key: "tier", values: ["batch", "online", "cron"])),
        ("tier notin (batch, online)", .labelNotIn(key: "tier", values: ["batch", "online"])),
        ("canary", .labelExists("canary")),
        ("!canary", .labelAbsent("canary")),
        ("app.kubernetes.io/name=web", .labelEquals(key: "app.kubernetes.io/name", value: "web")),
        ("app.kubernetes.io/name", .labelExists("app.kubernetes.io/name")),
        ("!example.com/legacy", .labelAbsent("example.com/legacy")),
        ("example.com/team in (a, b)", .labelIn(key: "example.com/team", values: ["a", "b"])),
        ("App_Name.v2=Web_1.0", .labelEquals(key: "App_Name.v2", value: "Web_1.0")),
        ("in", .labelExists("in")),
    ])
    func singleTerm(_ text: String, _ term: SelectorTerm) throws {
        let rule = try onlyRule("allow \(text) -> x.com")
        #expect(rule.selector == .all([term]))
    }

    @Test func everyTermTogether() throws {
        let rule = try onlyRule(
            "allow ns:shop, sa:web, pod:web-*, spiffe:spiffe://td/ns/shop, app=web, env==prod, team!=x, "
                + "tier in (a, b), zone notin (c), canary, !legacy -> x.com")
        #expect(
            rule.selector
                == .all([
                    .namespace("shop"), .serviceAccount("web"), .pod("web-*"), .spiffe("spiffe://td/ns/shop"),
                    .labelEquals(key: "app", value: "web"), .labelEquals(key: "env", value: "prod"),
                    .labelNotEquals(key: "team", value: "x"), .labelIn(key: "tier", values: ["a", "b"]),
                    .labelNotIn(key: "zone", values: ["c"]), .labelExists("canary"), .labelAbsent("legacy"),
                ]))
    }

    @Test func selectorSpanCoversTheTerms() throws {
        let text = "allow  ns:shop, app=web   -> x.com"
        let rule = try onlyRule(text)
        #expect(SourceFile(path: "p", text: text).text(rule.selectorSpan) == "ns:shop, app=web")
    }
}

@Suite("Parser: hosts and ports")
struct HostParsingTests {
    @Test(arguments: [
        ("service1.foo.com", HostItem.Meaning.pattern(.exact("service1.foo.com"), nil)),
        ("SERVICE1.Foo.COM.", .pattern(.exact("service1.foo.com"), nil)),
        ("*.bar.com", .pattern(.wildcard(suffix: "bar.com"), nil)),
        ("*.Bar.COM.", .pattern(.wildcard(suffix: "bar.com"), nil)),
        ("*", .pattern(.any, nil)),
        ("*:443", .pattern(.any, PortRange(low: 443, high: 443))),
        ("localhost", .pattern(.exact("localhost"), nil)),
        ("xn--bcher-kva.de", .pattern(.exact("xn--bcher-kva.de"), nil)),
        ("a-b.c-d.com:80", .pattern(.exact("a-b.c-d.com"), PortRange(low: 80, high: 80))),
        ("x.com:1", .pattern(.exact("x.com"), PortRange(low: 1, high: 1))),
        ("x.com:65535", .pattern(.exact("x.com"), PortRange(low: 65535, high: 65535))),
        ("x.com:8000-8080", .pattern(.exact("x.com"), PortRange(low: 8000, high: 8080))),
        ("x.com:1-65535", .pattern(.exact("x.com"), PortRange(low: 1, high: 65535))),
        ("x.com:443-443", .pattern(.exact("x.com"), PortRange(low: 443, high: 443))),
        ("*.x.com:80-81", .pattern(.wildcard(suffix: "x.com"), PortRange(low: 80, high: 81))),
        ("$stripe", .reference("stripe")),
        ("$my_list.v-2", .reference("my_list.v-2")),
    ])
    func singleHost(_ text: String, _ item: HostItem.Meaning) throws {
        let rule = try onlyRule("allow * -> \(text)")
        #expect(rule.hosts.map(\.meaning) == [item])
    }

    @Test func longestValidNameAndLabel() throws {
        let label63 = String(repeating: "a", count: 63)
        let name253 = [label63, label63, label63, String(repeating: "b", count: 61)].joined(separator: ".")
        #expect(name253.utf8.count == 253)
        let rule = try onlyRule("allow * -> \(name253), \(name253).")
        #expect(rule.hosts.map(\.meaning) == [.pattern(.exact(name253), nil), .pattern(.exact(name253), nil)])
    }

    /// The 253-character limit applies to the normal form: a trailing dot
    /// does not count, for wildcards as for exact names.
    @Test func longestValidWildcardMayEndInADot() throws {
        let label63 = String(repeating: "a", count: 63)
        let suffix251 = [label63, label63, label63, String(repeating: "b", count: 59)].joined(separator: ".")
        #expect(suffix251.utf8.count == 251)
        let rule = try onlyRule("allow * -> *.\(suffix251).")
        #expect(rule.hosts.map(\.meaning) == [.pattern(.wildcard(suffix: suffix251), nil)])
    }

    /// The punycode hint is skipped for a label too long to be valid: encoding
    /// it is quadratic, and the name is wrong either way.
    @Test func overlongNonASCIILabelGetsNoPunycodeHint() {
        let file = parse("allow * -> \(String(repeating: "ü", count: 5000)).de")
        #expect(file.diagnostics.map(\.message) == ["host pattern is not ASCII and longer than a DNS name can be"])
    }

    @Test func hostListItemsMayHavePorts() throws {
        let file = parse("hosts pki = ocsp.digicert.com:80, *.letsencrypt.org:443-444, *")
        #expect(file.diagnostics.isEmpty)
        #expect(
            file.hostLists.first?.items.map(\.meaning) == [
                .pattern(.exact("ocsp.digicert.com"), port(80)), .pattern(.wildcard(suffix: "letsencrypt.org"), port(443, 444)),
                .pattern(.any, nil),
            ])
    }
}

@Suite("Parser: lines, comments and continuations")
struct LineParsingTests {
    @Test func statementContinuesAfterTrailingComma() throws {
        let rule = try onlyRule(
            """
            allow ns:shop,
                  sa:checkout -> api.stripe.com,
                  files.stripe.com
            """)
        #expect(rule.selector == .all([.namespace("shop"), .serviceAccount("checkout")]))
        #expect(rule.hosts.map(\.meaning) == [.pattern(.exact("api.stripe.com"), nil), .pattern(.exact("files.stripe.com"), nil)])
    }

    @Test func commentAfterTheContinuationComma() throws {
        let file = parse(
            """
            allow ns:shop,   # the shop
                  app=web -> a.com,  # first host
                  # a whole-line comment inside the statement
                  b.com # last
            deny * -> c.com
            """)
        #expect(file.diagnostics.isEmpty)
        #expect(file.rules.count == 2)
        #expect(file.rules[0].selector == .all([.namespace("shop"), .labelEquals(key: "app", value: "web")]))
        #expect(file.rules[0].hosts.map(\.meaning) == [.pattern(.exact("a.com"), nil), .pattern(.exact("b.com"), nil)])
        #expect(file.rules[1].effect == .deny)
        #expect(
            file.comments.map(\.text) == [
                "# the shop", "# first host", "# a whole-line comment inside the statement", "# last",
            ])
        #expect(file.comments.map(\.ownLine) == [false, false, true, false])
    }

    @Test func blankLinesMayFollowAContinuationComma() throws {
        let rule = try onlyRule("allow * -> a.com,\n\n   b.com\n")
        #expect(rule.hosts.count == 2)
    }

    @Test func inListMaySpanLines() throws {
        let rule = try onlyRule("allow tier in (a,\n  b) -> x.com")
        #expect(rule.selector == .all([.labelIn(key: "tier", values: ["a", "b"])]))
    }

    @Test func lineBreakWithoutCommaEndsTheStatement() {
        let file = parse("allow ns:a -> a.com\n b.com\n")
        #expect(file.rules.count == 1)
        #expect(file.diagnostics.map(\.rendered) == ["policy.egress:2:2: error: expected 'allow', 'deny' or 'hosts', found 'b.com' [syntax]"])
    }

    @Test func commentsEndAtTheLineAndMayTouchWords() throws {
        let file = parse("allow ns:a -> x.com#no space needed\n#top\n  # indented\n")
        #expect(file.diagnostics.isEmpty)
        #expect(file.rules.first?.hosts.map(\.meaning) == [.pattern(.exact("x.com"), nil)])
        #expect(file.comments.map(\.text) == ["#no space needed", "#top", "# indented"])
        #expect(file.comments.map(\.ownLine) == [false, true, true])
    }

    @Test func crlfLineEndingsParseLikeLF() throws {
        let lf = "# head\nhosts h = a.com:443,\n  b.com # tail\nallow ns:a, app=web -> $h, *.c.com as n dry-run\n"
        let crlf = lf.replacingCRLF()
        let a = parse(lf), b = parse(crlf)
        #expect(b.diagnostics.isEmpty)
        #expect(b.statements.map(\.meaning) == a.statements.map(\.meaning))
        #expect(b.comments.map(\.text) == ["# head", "# tail"])
        #expect(b.statements.count == 2)
    }

    @Test func crlfDiagnosticsPointAtTheRightLineAndColumn() {
        let diagnostics = loadDiagnostics("allow * -> a.com\r\nallow * -> b_c.com\r\n")
        #expect(diagnostics.map(\.rendered) == [
            "policy.egress:2:12: error: host name 'b_c.com' contains '_'; a label holds only letters, digits and '-' [invalid-host]"
        ])
    }

    @Test func lastLineNeedsNoNewline() throws {
        let file = parse("allow * -> a.com\ndeny * -> b.com")
        #expect(file.diagnostics.isEmpty)
        #expect(file.rules.map(\.effect) == [.allow, .deny])
    }

    @Test func tabsAreBlanks() throws {
        let rule = try onlyRule("allow\tns:a,\tapp=web\t->\tx.com\tas\tn")
        #expect(rule.selector == .all([.namespace("a"), .labelEquals(key: "app", value: "web")]))
        #expect(rule.name == "n")
    }

    @Test func ruleSpanCoversItsContinuationLines() throws {
        let text = "\n  allow ns:a,\n   app=b -> x.com,\n y.com as n   # c\n"
        let rule = try onlyRule(text)
        let file = SourceFile(path: "p", text: text)
        #expect(file.location(of: rule.span.lowerBound) == PolicyLang.SourceLocation(line: 2, column: 3))
        #expect(file.text(rule.span) == "allow ns:a,\n   app=b -> x.com,\n y.com as n")
    }
}

@Suite("Parser: test files")
struct ExpectationParsingTests {
    @Test func expectLinesInATestFile() throws {
        let file = parse(
            """
            # tests
            expect allow  ns:shop, sa:checkout, app=web -> api.stripe.com:443
            expect deny   app=A -> service1.bar.com
            expect deny   * -> unknown.example
            expect allow  pod:web-1, spiffe:spiffe://td/ns/shop, app==web, tier=batch -> X.Example.COM.:8443
            """, path: "policy_test.egress")
        #expect(file.diagnostics.isEmpty)
        #expect(
            file.statements.map(\.meaning) == [
                .expectation(
                    verdict: .allow, source: workload(ns: "shop", sa: "checkout", labels: ["app": "web"]),
                    host: "api.stripe.com", port: 443),
                .expectation(verdict: .deny, source: workload(labels: ["app": "A"]), host: "service1.bar.com", port: 443),
                .expectation(verdict: .deny, source: nil, host: "unknown.example", port: 443),
                .expectation(
                    verdict: .allow,
                    source: workload(pod: "web-1", spiffe: "spiffe://td/ns/shop", labels: ["app": "web", "tier": "batch"]),
                    host: "X.Example.COM.", port: 8443),
            ])
    }

    @Test func hostOfAnExpectationIsKeptAsWritten() throws {
        // Requested hosts are not patterns: IP literals and odd names are valid test input.
        let file = parse("expect deny * -> 198.18.0.10\nexpect deny * -> [::1]:80\nexpect deny * -> a_b\n", path: "x_test.egress")
        #expect(file.diagnostics.isEmpty)
        #expect(file.expectations.map(\.host) == ["198.18.0.10", "[::1]", "a_b"])
        #expect(file.expectations.map(\.port) == [443, 80, 443])
    }

    @Test func expectIsRefusedInAPolicyFile() {
        let file = parse("expect allow * -> x.com\nallow * -> y.com\n", path: "policy.egress")
        #expect(file.expectations.isEmpty)
        #expect(file.rules.count == 1)
        #expect(file.diagnostics.map(\.rendered) == [
            "policy.egress:1:1: error: 'expect' statements belong in *_test.egress files [syntax]"
        ])
    }

    @Test func rulesAreRefusedInATestFile() {
        let file = parse("allow * -> y.com\nhosts h = a.com\nexpect allow * -> y.com\n", path: "a_test.egress")
        #expect(file.rules.isEmpty)
        #expect(file.hostLists.isEmpty)
        #expect(file.expectations.count == 1)
        #expect(file.diagnostics.map(\.rendered) == [
            "a_test.egress:1:1: error: a test file holds only 'expect' statements, found 'allow' [syntax]",
            "a_test.egress:2:1: error: a test file holds only 'expect' statements, found 'hosts' [syntax]",
        ])
    }

    @Test func testFilesAreNotPartOfThePolicySet() throws {
        let set = PolicySet(files: [
            SourceFile(path: "dir/p_test.egress", text: "expect allow * -> x.com\n"),
            SourceFile(path: "dir/p.egress", text: "allow * -> x.com\n"),
        ])
        #expect(set.files.map(\.file.path) == ["dir/p.egress"])
        #expect(set.testFiles.map(\.file.path) == ["dir/p_test.egress"])
        #expect(set.rules.count == 1)
    }

    @Test func textAfterTheHostIsAnError() {
        let file = parse("expect allow * -> a.com b.com", path: "x_test.egress")
        #expect(file.diagnostics.map(\.rendered) == ["x_test.egress:1:25: error: expected end of line, found 'b.com' [syntax]"])
    }

    @Test(arguments: [
        ("expect allow app!=x -> y.com", "x_test.egress:1:14: error: a workload description names one concrete workload: use ns:, sa:, pod: (without '*'), spiffe:, key=value and nslabel:key=value, not 'app!=x' [syntax]"),
        ("expect allow pod:web-* -> y.com", "x_test.egress:1:14: error: a workload description names one concrete workload: use ns:, sa:, pod: (without '*'), spiffe:, key=value and nslabel:key=value, not 'pod:web-*' [syntax]"),
        ("expect allow ns:a, tier in (a) -> y.com", "x_test.egress:1:14: error: a workload description names one concrete workload: use ns:, sa:, pod: (without '*'), spiffe:, key=value and nslabel:key=value, not 'tier in (a)' [syntax]"),
        ("expect allow ns:a, !legacy -> y.com", "x_test.egress:1:14: error: a workload description names one concrete workload: use ns:, sa:, pod: (without '*'), spiffe:, key=value and nslabel:key=value, not '!legacy' [syntax]"),
        ("expect maybe * -> y.com", "x_test.egress:1:8: error: expected 'allow' or 'deny' after 'expect', found 'maybe' [syntax]"),
        ("expect allow * -> y.com:0", "x_test.egress:1:19: error: expected a port in 1-65535 after ':', found '0' [invalid-port]"),
        ("expect allow * -> y.com:https", "x_test.egress:1:19: error: expected a port in 1-65535 after ':', found 'https' [invalid-port]"),
        ("expect allow * -> ", "x_test.egress:1:19: error: expected a host name, found end of line [syntax]"),
        ("allowed * -> a.com", "x_test.egress:1:1: error: expected 'expect', found 'allowed' [syntax]"),
    ])
    func refusedExpectations(_ text: String, _ rendered: String) {
        let file = parse(text, path: "x_test.egress")
        #expect(file.expectations.isEmpty)
        #expect(file.diagnostics.map(\.rendered) == [rendered])
    }
}

extension String {
    func replacingCRLF() -> String {
        split(separator: "\n", omittingEmptySubsequences: false).joined(separator: "\r\n")
    }
}
