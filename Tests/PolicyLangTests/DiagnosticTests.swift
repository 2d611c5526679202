import Testing
@testable import PolicyLang

/// One input whose only load diagnostic is known exactly.
struct DiagnosticCase: Sendable, CustomTestStringConvertible {
    let text: String
    let id: DiagnosticID
    /// The spec's `file:line:column: severity: message [id]` line.
    let rendered: String
    let help: String?

    init(_ text: String, _ id: DiagnosticID, _ rendered: String, help: String? = nil) {
        self.text = text
        self.id = id
        self.rendered = rendered
        self.help = help
    }

    var testDescription: String { text.debugDescription }

    func check(sourceLocation: Testing.SourceLocation = #_sourceLocation) throws {
        let diagnostics = loadDiagnostics(text)
        #expect(diagnostics.map(\.rendered) == [rendered], sourceLocation: sourceLocation)
        let diagnostic = try #require(diagnostics.first, sourceLocation: sourceLocation)
        #expect(diagnostic.id == id, sourceLocation: sourceLocation)
        #expect(diagnostic.severity == .error, sourceLocation: sourceLocation)
        #expect(diagnostic.help == help, sourceLocation: sourceLocation)
    }
}

private let p = "policy.egress"
private let label64 = String(repeating: "a", count: 64)
private let name254 = [String](repeating: String(repeating: "b", count: 62), count: 4).joined(separator: ".") + ".cd"

@Suite("Diagnostics: syntax")
struct SyntaxDiagnosticTests {
    static let cases: [DiagnosticCase] = [
        .init("alow * -> x.com", .syntax, "\(p):1:1: error: expected 'allow', 'deny' or 'hosts', found 'alow' [syntax]"),
        .init("permit * -> x.com", .syntax, "\(p):1:1: error: expected 'allow', 'deny' or 'hosts', found 'permit' [syntax]", help: "write 'allow'"),
        .init("Block * -> x.com", .syntax, "\(p):1:1: error: expected 'allow', 'deny' or 'hosts', found 'Block' [syntax]", help: "write 'deny'"),
        .init("  , y.com", .syntax, "\(p):1:3: error: expected 'allow', 'deny' or 'hosts', found ',' [syntax]"),
        .init("allow * ns:a -> x.com", .syntax, "\(p):1:9: error: expected ',' or '->', found 'ns:a' [syntax]"),
        .init("allow ns:a x.com", .syntax, "\(p):1:12: error: expected ',' or '->', found 'x.com' [syntax]"),
        .init("allow *, ns:a -> x.com", .syntax, "\(p):1:7: error: '*' stands alone as a selector; it cannot be combined with other terms [syntax]"),
        .init("allow ns:a, * -> x.com", .syntax, "\(p):1:13: error: expected a selector term (ns:NAME, sa:NAME, pod:NAME, spiffe:ID, a label or nslabel:KEY), found '*' [syntax]"),
        .init("allow -> x.com", .syntax, "\(p):1:7: error: expected a selector term (ns:NAME, sa:NAME, pod:NAME, spiffe:ID, a label or nslabel:KEY), found '->' [syntax]"),
        .init("allow app= -> x.com", .syntax, "\(p):1:12: error: expected a label value after '=', found '->' [syntax]"),
        .init("allow app in a -> x.com", .syntax, "\(p):1:14: error: expected '(' after 'in', found 'a' [syntax]"),
        .init("allow app notin (a b) -> x.com", .syntax, "\(p):1:20: error: expected ',' or ')', found 'b' [syntax]"),
        .init("allow app in () -> x.com", .syntax, "\(p):1:15: error: expected a label value, found ')' [syntax]"),
        .init("allow ! -> x.com", .syntax, "\(p):1:9: error: expected a label key after '!', found '->' [syntax]"),
        .init("allow ns:a -> ", .syntax, "\(p):1:15: error: expected a host pattern, found end of line [syntax]"),
        .init("allow ns:a -> x.com,", .syntax, "\(p):1:21: error: expected a host pattern after ',', found end of line [syntax]"),
        .init("allow ns:a -> x.com, , y.com", .syntax, "\(p):1:22: error: expected a host pattern after ',', found ',' [syntax]"),
        .init("allow ns:a -> x.com as", .syntax, "\(p):1:23: error: expected a rule name after 'as', found end of line [syntax]"),
        .init("allow ns:a -> x.com as bad/name", .syntax, "\(p):1:24: error: rule name 'bad/name' must be letters, digits, '-', '_' or '.' [syntax]"),
        .init("allow ns:a -> x.com junk", .syntax, "\(p):1:21: error: expected ',', 'as NAME', 'dry-run' or end of line, found 'junk' [syntax]"),
        .init("allow ns:a -> x.com dry-run dry-run", .syntax, "\(p):1:29: error: 'dry-run' is given twice in this rule [syntax]", help: "a rule has at most one name and one 'dry-run'"),
        .init("allow ns:a -> x.com as a as b", .syntax, "\(p):1:26: error: 'as' is given twice in this rule [syntax]", help: "a rule has at most one name and one 'dry-run'"),
        .init("allow ns:a -> x.com )", .syntax, "\(p):1:21: error: expected end of line, found ')' [syntax]"),
        .init("hosts = a.com", .syntax, "\(p):1:7: error: expected a host list name, found '=' [syntax]"),
        .init("hosts h a.com", .syntax, "\(p):1:9: error: expected '=' after the host list name, found 'a.com' [syntax]"),
        .init("hosts h = $other", .syntax, "\(p):1:11: error: a host list cannot use another host list ('$other') [syntax]", help: "list its hosts here"),
        .init("hosts bad/name = a.com", .syntax, "\(p):1:7: error: host list name 'bad/name' must be letters, digits, '-', '_' or '.' [syntax]"),
        .init("allow * -> $", .syntax, "\(p):1:12: error: expected a host list name after '$', found '$' [syntax]"),
        .init("allow * -> $a/b", .syntax, "\(p):1:12: error: expected a host list name after '$', found '$a/b' [syntax]"),
        .init("expect allow * -> x.com", .syntax, "\(p):1:1: error: 'expect' statements belong in *_test.egress files [syntax]"),
        .init("# fine\n\n   deny * ->\n", .syntax, "\(p):3:13: error: expected a host pattern, found end of line [syntax]"),
    ]

    @Test(arguments: cases) func syntaxError(_ c: DiagnosticCase) throws { try c.check() }
}

@Suite("Diagnostics: invalid-host")
struct InvalidHostDiagnosticTests {
    static let wildcardHelp = "a wildcard may only stand alone as the first label, as in "
    static let cases: [DiagnosticCase] = [
        .init("allow * -> foo*.com", .invalidHost, "\(p):1:12: error: '*' in 'foo*.com' is not allowed there [invalid-host]", help: wildcardHelp + "*.foo.com"),
        .init("allow * -> a.*.com", .invalidHost, "\(p):1:12: error: '*' in 'a.*.com' is not allowed there [invalid-host]", help: wildcardHelp + "*.a.com"),
        .init("allow * -> *.*.com", .invalidHost, "\(p):1:12: error: '*' in '*.*.com' is not allowed there [invalid-host]", help: wildcardHelp + "*.com"),
        .init("allow * -> x.com, api.*", .invalidHost, "\(p):1:19: error: '*' in 'api.*' is not allowed there [invalid-host]", help: wildcardHelp + "*.api"),
        .init("allow * -> *.", .invalidHost, "\(p):1:12: error: expected a domain after '*.' [invalid-host]"),
        .init("allow * -> bücher.de", .invalidHost, "\(p):1:12: error: host pattern 'bücher.de' is not ASCII; write it in punycode as 'xn--bcher-kva.de' [invalid-host]", help: "use 'xn--bcher-kva.de'"),
        .init("allow * -> *.Bücher.de:443", .invalidHost, "\(p):1:12: error: host pattern '*.Bücher.de' is not ASCII; write it in punycode as '*.xn--bcher-kva.de' [invalid-host]", help: "use '*.xn--bcher-kva.de'"),
        .init("allow * -> www.münchen.de", .invalidHost, "\(p):1:12: error: host pattern 'www.münchen.de' is not ASCII; write it in punycode as 'www.xn--mnchen-3ya.de' [invalid-host]", help: "use 'www.xn--mnchen-3ya.de'"),
        .init("allow * -> 例え.jp", .invalidHost, "\(p):1:12: error: host pattern '例え.jp' is not ASCII; write it in punycode as 'xn--r8jz45g.jp' [invalid-host]", help: "use 'xn--r8jz45g.jp'"),
        .init("allow * -> a..b.com", .invalidHost, "\(p):1:12: error: host name 'a..b.com' has an empty label [invalid-host]"),
        .init("allow * -> .a.com", .invalidHost, "\(p):1:12: error: host name '.a.com' has an empty label [invalid-host]"),
        .init("allow * -> a.com..", .invalidHost, "\(p):1:12: error: host name 'a.com..' has an empty label [invalid-host]"),
        .init("allow * -> -a.com", .invalidHost, "\(p):1:12: error: label '-a' starts or ends with '-' [invalid-host]"),
        .init("allow * -> *.a-.com", .invalidHost, "\(p):1:12: error: label 'a-' starts or ends with '-' [invalid-host]"),
        .init("allow * -> a_b.com", .invalidHost, "\(p):1:12: error: host name 'a_b.com' contains '_'; a label holds only letters, digits and '-' [invalid-host]"),
        .init("allow * -> a/b.com", .invalidHost, "\(p):1:12: error: host name 'a/b.com' contains '/'; a label holds only letters, digits and '-' [invalid-host]"),
        .init("allow * -> \(label64).com", .invalidHost, "\(p):1:12: error: label '\(label64)' is 64 characters long; at most 63 are allowed [invalid-host]"),
        .init("allow * -> \(name254)", .invalidHost, "\(p):1:12: error: host name is 254 characters long; at most 253 are allowed [invalid-host]"),
        .init("allow * -> 198.18.0.1", .invalidHost, "\(p):1:12: error: '198.18.0.1' is an IP address; rules match the names clients ask for (SNI), never addresses [invalid-host]", help: "name the host instead; a request for a bare IP address matches only '*'"),
        .init("allow * -> foo.123:443", .invalidHost, "\(p):1:12: error: 'foo.123' is an IP address; rules match the names clients ask for (SNI), never addresses [invalid-host]", help: "name the host instead; a request for a bare IP address matches only '*'"),
        .init("allow * -> *.10", .invalidHost, "\(p):1:12: error: '*.10' can never match: a requested name whose last label is all digits is an IP address [invalid-host]"),
        .init("allow * -> *.\(String(repeating: "a.", count: 125))com", .invalidHost, "\(p):1:12: error: host pattern is 255 characters long; at most 253 are allowed [invalid-host]"),
        .init("allow * -> x\u{FFFD}.com", .invalidHost, "\(p):1:12: error: host pattern 'x\u{FFFD}.com' holds bytes that are not valid UTF-8 [invalid-host]"),
        // Columns count code points: 'ü' is one column although it is two bytes.
        .init("allow * -> xn--bcher-kva.de, ü.de", .invalidHost, "\(p):1:30: error: host pattern 'ü.de' is not ASCII; write it in punycode as 'xn--tda.de' [invalid-host]", help: "use 'xn--tda.de'"),
    ]

    @Test(arguments: cases) func invalidHost(_ c: DiagnosticCase) throws { try c.check() }

    @Test func columnsAfterNonASCIITextCountCodePoints() {
        #expect(loadDiagnostics("allow ns:ünïcode-free -> x.com, a_b").map(\.rendered) == [
            "\(p):1:7: error: namespace 'ünïcode-free' must be lower-case letters, digits and '-', starting and ending with a letter or digit [invalid-selector]",
            "\(p):1:33: error: host name 'a_b' contains '_'; a label holds only letters, digits and '-' [invalid-host]",
        ])
    }
}

@Suite("Diagnostics: invalid-selector")
struct InvalidSelectorDiagnosticTests {
    static let labelKeyRule = "must be an optional DNS prefix and '/', then at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit"
    static let labelValueRule = "must be at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit"
    static let cases: [DiagnosticCase] = [
        .init("allow ns:Shop -> x.com", .invalidSelector, "\(p):1:7: error: namespace 'Shop' must be lower-case letters, digits and '-', starting and ending with a letter or digit [invalid-selector]"),
        .init("allow ns:a.b -> x.com", .invalidSelector, "\(p):1:7: error: namespace 'a.b' must be lower-case letters, digits and '-', starting and ending with a letter or digit [invalid-selector]"),
        .init("allow ns: -> x.com", .invalidSelector, "\(p):1:7: error: expected a namespace [invalid-selector]"),
        .init("allow ns:\(label64) -> x.com", .invalidSelector, "\(p):1:7: error: namespace '\(label64)' is 64 characters long; at most 63 are allowed [invalid-selector]"),
        .init("allow ns:a, sa:-x -> x.com", .invalidSelector, "\(p):1:13: error: service account '-x' must be lower-case letters, digits, '-' and '.', each part starting and ending with a letter or digit [invalid-selector]"),
        .init("allow sa:web..x -> x.com", .invalidSelector, "\(p):1:7: error: service account 'web..x' must be lower-case letters, digits, '-' and '.', each part starting and ending with a letter or digit [invalid-selector]"),
        .init("allow pod:Web -> x.com", .invalidSelector, "\(p):1:7: error: pod name 'Web' must be lower-case letters, digits, '-' and '.' (and '*' as a glob), each part starting and ending with a letter or digit [invalid-selector]"),
        .init("allow pod: -> x.com", .invalidSelector, "\(p):1:7: error: expected a pod name [invalid-selector]"),
        .init("allow spiffe:http://x -> x.com", .invalidSelector, "\(p):1:7: error: SPIFFE ID 'http://x' must start with 'spiffe://' [invalid-selector]"),
        .init("allow spiffe:spiffe:// -> x.com", .invalidSelector, "\(p):1:7: error: SPIFFE ID 'spiffe://' needs a trust domain of lower-case letters, digits, '.', '-' and '_' [invalid-selector]"),
        .init("allow spiffe:spiffe://TD/x -> x.com", .invalidSelector, "\(p):1:7: error: SPIFFE ID 'spiffe://TD/x' needs a trust domain of lower-case letters, digits, '.', '-' and '_' [invalid-selector]"),
        .init("allow spiffe:spiffe://td/ns//sa -> x.com", .invalidSelector, "\(p):1:7: error: SPIFFE ID 'spiffe://td/ns//sa' has an invalid path segment '' [invalid-selector]"),
        .init("allow spiffe:spiffe://td/ns/.. -> x.com", .invalidSelector, "\(p):1:7: error: SPIFFE ID 'spiffe://td/ns/..' has an invalid path segment '..' [invalid-selector]"),
        .init("allow -bad=x -> x.com", .invalidSelector, "\(p):1:7: error: label key '-bad' \(labelKeyRule) [invalid-selector]"),
        .init("allow a/b/c=x -> x.com", .invalidSelector, "\(p):1:7: error: label key 'a/b/c' \(labelKeyRule) [invalid-selector]"),
        .init("allow \(label64) -> x.com", .invalidSelector, "\(p):1:7: error: label key '\(label64)' \(labelKeyRule) [invalid-selector]"),
        .init("allow Example.com/app=x -> x.com", .invalidSelector, "\(p):1:7: error: label key prefix 'Example.com' must be lower-case letters, digits, '-' and '.', each part starting and ending with a letter or digit [invalid-selector]"),
        .init("allow ns:a, !-x -> x.com", .invalidSelector, "\(p):1:13: error: label key '-x' \(labelKeyRule) [invalid-selector]"),
        .init("allow app=-bad -> x.com", .invalidSelector, "\(p):1:11: error: label value '-bad' \(labelValueRule) [invalid-selector]"),
        .init("allow app!=a:b -> x.com", .invalidSelector, "\(p):1:12: error: label value 'a:b' \(labelValueRule) [invalid-selector]"),
        .init("allow app in (a, -b) -> x.com", .invalidSelector, "\(p):1:18: error: label value '-b' \(labelValueRule) [invalid-selector]"),
        .init("allow app notin (\(label64)) -> x.com", .invalidSelector, "\(p):1:18: error: label value '\(label64)' \(labelValueRule) [invalid-selector]"),
        .init("allow namespace:shop -> x.com", .invalidSelector, "\(p):1:7: error: unknown selector term 'namespace:'; expected ns:, sa:, pod:, spiffe:, nslabel: or a label [invalid-selector]", help: "write ns:shop"),
        .init("allow serviceAccount:web -> x.com", .invalidSelector, "\(p):1:7: error: unknown selector term 'serviceAccount:'; expected ns:, sa:, pod:, spiffe:, nslabel: or a label [invalid-selector]", help: "write sa:web"),
        .init("allow label:app -> x.com", .invalidSelector, "\(p):1:7: error: unknown selector term 'label:'; expected ns:, sa:, pod:, spiffe:, nslabel: or a label [invalid-selector]"),
    ]

    @Test(arguments: cases) func invalidSelector(_ c: DiagnosticCase) throws { try c.check() }
}

@Suite("Diagnostics: invalid-port")
struct InvalidPortDiagnosticTests {
    static let cases: [DiagnosticCase] = [
        .init("allow * -> x.com:0", .invalidPort, "\(p):1:18: error: port 0 is outside 1-65535 [invalid-port]"),
        .init("allow * -> x.com:65536", .invalidPort, "\(p):1:18: error: port 65536 is outside 1-65535 [invalid-port]"),
        .init("allow * -> x.com:999999", .invalidPort, "\(p):1:18: error: port 999999 is outside 1-65535 [invalid-port]"),
        .init("allow * -> x.com:1-70000", .invalidPort, "\(p):1:18: error: port 70000 is outside 1-65535 [invalid-port]"),
        .init("allow * -> x.com:80-79", .invalidPort, "\(p):1:18: error: port range 80-79 is empty [invalid-port]", help: "write the lower port first: 79-80"),
        .init("allow * -> x.com:", .invalidPort, "\(p):1:17: error: expected a port number or LOW-HIGH range after ':', found '' [invalid-port]"),
        .init("allow * -> *.x.com:https", .invalidPort, "\(p):1:20: error: expected a port number or LOW-HIGH range after ':', found 'https' [invalid-port]"),
        .init("allow * -> x.com:1-2-3", .invalidPort, "\(p):1:18: error: expected a port number or LOW-HIGH range after ':', found '1-2-3' [invalid-port]"),
        .init("allow * -> x.com:-80", .invalidPort, "\(p):1:18: error: expected a port number or LOW-HIGH range after ':', found '-80' [invalid-port]"),
        .init("allow * -> x.com:80-", .invalidPort, "\(p):1:18: error: expected a port number or LOW-HIGH range after ':', found '80-' [invalid-port]"),
        .init("allow * -> x.com:+80", .invalidPort, "\(p):1:18: error: expected a port number or LOW-HIGH range after ':', found '+80' [invalid-port]"),
        .init("allow * -> x.com:80:90", .invalidPort, "\(p):1:18: error: expected a port number or LOW-HIGH range after ':', found '80:90' [invalid-port]"),
        .init("hosts h = x.com:0\nallow * -> $h", .invalidPort, "\(p):1:17: error: port 0 is outside 1-65535 [invalid-port]"),
    ]

    @Test(arguments: cases) func invalidPort(_ c: DiagnosticCase) throws { try c.check() }

    @Test func badHostAndBadPortAreBothReported() {
        #expect(loadDiagnostics("allow * -> a_b.com:0").map(\.rendered) == [
            "\(p):1:12: error: host name 'a_b.com' contains '_'; a label holds only letters, digits and '-' [invalid-host]",
            "\(p):1:20: error: port 0 is outside 1-65535 [invalid-port]",
        ])
    }
}

@Suite("Diagnostics: host lists")
struct HostListDiagnosticTests {
    static let cases: [DiagnosticCase] = [
        .init("allow * -> $nope", .undefinedHosts, "\(p):1:12: error: host list '$nope' is not defined [undefined-hosts]", help: "define it with 'hosts nope = ...'"),
        .init("hosts web = a.com\nhosts api = b.com\nallow * -> $web, $api, x.com,\n  $wbe", .undefinedHosts, "\(p):4:3: error: host list '$wbe' is not defined [undefined-hosts]", help: "defined host lists: $api, $web"),
        .init("hosts h = a.com\nhosts h = b.com\nallow * -> $h", .duplicateHosts, "\(p):2:7: error: host list 'h' is already defined at \(p):1 [duplicate-hosts]", help: "rename one of them or merge their hosts"),
        .init("\n\nhosts  stripe = a.com\nallow * -> $stripe\n  hosts   stripe = b.com", .duplicateHosts, "\(p):5:11: error: host list 'stripe' is already defined at \(p):3 [duplicate-hosts]", help: "rename one of them or merge their hosts"),
    ]

    @Test(arguments: cases) func hostListError(_ c: DiagnosticCase) throws { try c.check() }

    @Test func aListMayBeUsedBeforeItIsDefined() {
        #expect(loadDiagnostics("allow * -> $later\nhosts later = a.com\n").isEmpty)
    }

    @Test func listsAreSharedAcrossFilesAndDuplicatesReportedInSortedPathOrder() {
        let set = PolicySet(files: [
            SourceFile(path: "b.egress", text: "hosts h = b.com\nallow * -> $h, $other\n"),
            SourceFile(path: "a.egress", text: "# first\nhosts h = a.com\nhosts other = c.com\n"),
            SourceFile(path: "c.egress", text: "hosts h = c.com\nallow * -> $missing\n"),
        ])
        #expect(set.diagnostics.map(\.rendered) == [
            "b.egress:1:7: error: host list 'h' is already defined at a.egress:2 [duplicate-hosts]",
            "c.egress:1:7: error: host list 'h' is already defined at a.egress:2 [duplicate-hosts]",
            "c.egress:2:12: error: host list '$missing' is not defined [undefined-hosts]",
        ])
        #expect(set.diagnostics.last?.help == "defined host lists: $h, $other")
        // The first definition is the one rules use.
        #expect(set.hostLists["h"]?.file.path == "a.egress")
    }

    @Test func testFilesDefineNoHostLists() {
        let set = PolicySet(files: [
            SourceFile(path: "p.egress", text: "allow * -> $h\n"),
            SourceFile(path: "p_test.egress", text: "hosts h = a.com\n"),
        ])
        #expect(set.diagnostics.map(\.id) == [.syntax, .undefinedHosts])
    }
}

@Suite("Diagnostics: recovery and severities")
struct DiagnosticRecoveryTests {
    @Test func everyBrokenLineIsReportedAndGoodLinesStillParse() {
        let text = """
            allow ns:shop -> a.com
            alow * -> b.com
            allow app=web -> c.com
            allow ns:Bad -> d.com
            deny * -> e_f.com, ok.com
            hosts h = g.com:0
            allow * -> $h, $missing,
                 good.com
            allow * -> h.com junk
            deny ns:dev -> *.prod.com as done
            """
        let file = parse(text)
        #expect(file.diagnostics.map(\.rendered) == [
            "\(p):2:1: error: expected 'allow', 'deny' or 'hosts', found 'alow' [syntax]",
            "\(p):4:7: error: namespace 'Bad' must be lower-case letters, digits and '-', starting and ending with a letter or digit [invalid-selector]",
            "\(p):5:11: error: host name 'e_f.com' contains '_'; a label holds only letters, digits and '-' [invalid-host]",
            "\(p):6:17: error: port 0 is outside 1-65535 [invalid-port]",
            "\(p):9:18: error: expected ',', 'as NAME', 'dry-run' or end of line, found 'junk' [syntax]",
        ])
        // Statements with a problem inside them keep their valid parts.
        #expect(file.rules.map { $0.hosts.map(\.description) } == [
            ["a.com"], ["c.com"], ["d.com"], ["ok.com"], ["$h", "$missing", "good.com"], ["*.prod.com"],
        ])
        #expect(file.rules.last?.name == "done")
        let set = PolicySet(files: [file.file])
        #expect(set.diagnostics.map(\.id) == [
            .syntax, .invalidSelector, .invalidHost, .invalidPort, .syntax, .undefinedHosts,
        ])
    }

    @Test func anErrorInAContinuedStatementSkipsOnlyThatStatement() {
        let file = parse("allow ns:a,\n  bad key -> x.com,\n  y.com\nallow * -> z.com\n")
        #expect(file.diagnostics.map(\.rendered) == ["\(p):2:7: error: expected ',' or '->', found 'key' [syntax]"])
        #expect(file.rules.map { $0.hosts.map(\.description) } == [["z.com"]])
    }

    @Test func severitiesFollowTheSpec() {
        let errors: Set<DiagnosticID> = [.syntax, .invalidHost, .invalidSelector, .invalidPort, .undefinedHosts, .duplicateHosts]
        for id in DiagnosticID.allCases {
            #expect(id.defaultSeverity == (errors.contains(id) ? .error : .warning), "\(id)")
        }
        #expect(DiagnosticID.allCases.map(\.rawValue) == [
            "syntax", "invalid-host", "invalid-selector", "invalid-port", "undefined-hosts", "duplicate-hosts",
            "shadowed-rule", "duplicate-rule", "broad-host", "allow-all", "unused-hosts",
        ])
    }

    @Test func aSetWithErrorsDoesNotCompileAndSaysWhy() {
        let files = [
            SourceFile(path: "a.egress", text: "allow * -> a_b.com\n"),
            SourceFile(path: "b.egress", text: "hosts unused = x.com\nallow * -> $nope\n"),
        ]
        let failure = #expect(throws: PolicyCompiler.Failure.self) { try PolicyCompiler.compile(files) }
        #expect(failure?.diagnostics.map(\.rendered) == [
            "a.egress:1:12: error: host name 'a_b.com' contains '_'; a label holds only letters, digits and '-' [invalid-host]",
            "b.egress:2:12: error: host list '$nope' is not defined [undefined-hosts]",
        ])
    }

    @Test func warningsDoNotStopASetFromLoading() throws {
        let index = try compile("hosts unused = x.com\nallow * -> *\nallow * -> *\n")
        #expect(index.verdict(nil, "anything.example") == .allow)
    }
}
