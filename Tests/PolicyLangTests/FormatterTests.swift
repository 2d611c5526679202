import Foundation
import Testing
@testable import PolicyLang

private func format(_ text: String, path: String = "policy.egress", lineWidth: Int? = nil) throws -> String {
    var formatter = PolicyLang.Formatter()
    if let lineWidth { formatter.lineWidth = lineWidth }
    return try formatter.format(SourceFile(path: path, text: text))
}

/// Formatting `text` twice gives what formatting once gave, and the output means what the input meant.
private func checkStable(_ text: String, path: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) throws {
    let once = try format(text, path: path)
    let twice = try format(once, path: path)
    #expect(twice == once, "formatting \(path) is not idempotent", sourceLocation: sourceLocation)
    let before = parse(text, path: path), after = parse(once, path: path)
    #expect(after.diagnostics.isEmpty, sourceLocation: sourceLocation)
    #expect(after.statements.map(\.meaning) == before.statements.map(\.meaning), sourceLocation: sourceLocation)
    #expect(after.comments.map(\.text) == before.comments.map(\.text), sourceLocation: sourceLocation)
}

/// Inputs that exercise every layout rule; each is checked for idempotence and meaning.
private let ownInputs: [(path: String, text: String)] = [
    ("a.egress", "\n\n# head\n\n\n\nallow   ns:shop,sa:checkout->API.Stripe.com:443 ,  files.stripe.com   dry-run  as pay\ndeny ns:dev->*.Prod.Example.COM.   # trailing\n"),
    ("b.egress", "hosts   stripe=api.stripe.com:443,files.stripe.com\nallow app==web, tier in (a,b), zone notin(c), !legacy, canary, app.kubernetes.io/name!=x -> x.com:8000-8080,$stripe\n"),
    ("c.egress", "# own line\nallow ns:a,   # who\n      app=b -> x.com,  # first host\n      # own line inside\n      y.com as n  # last\n\n# between\ndeny * -> z.com # t\n# end"),
    ("d.egress", "allow tier in (a, # inside parentheses\n  b) -> x.com\nhosts h = a.com, # one\n  b.com\n"),
    ("e.egress", "deny ns:shop, sa:checkout, app=web, tier in (batch, online), team=payments -> api.stripe.com:443, files.stripe.com:443 as long-name\n"),
    ("f.egress", "allow ns:a -> x.com\r\n# crlf\r\n\r\n\r\ndeny * -> *:22   # no ssh\r\n"),
    ("g_test.egress", "expect allow ns:shop,  app=web , sa:checkout,tier=batch -> api.stripe.com:443\nexpect deny * -> X.COM.:80\n\n\nexpect   deny  pod:web-1, spiffe:spiffe://td/ns/a -> x.com # t\n"),
    ("h_test.egress", "expect allow app=b, # about b\n  ns:a -> x.com\nexpect deny * -> [::1]:443\n"),
    ("i.egress", ""),
    ("j.egress", "# only a comment"),
]

@Suite("Formatter: canonical layout")
struct FormatterLayoutTests {
    @Test func spacingCaseAndOrderAreCanonical() throws {
        #expect(try format(
            """
            allow   ns:shop,sa:checkout->API.Stripe.com:443 ,  files.stripe.com   dry-run  as pay
            deny ns:dev->*.Prod.Example.COM.
            hosts   stripe=api.stripe.com:443,files.stripe.com
            allow app==web,tier in(a,b) , zone notin (c),!legacy -> x.com:8000-8080,$stripe,*
            """) == """
            allow ns:shop, sa:checkout -> api.stripe.com:443, files.stripe.com as pay dry-run
            deny  ns:dev -> *.prod.example.com
            hosts stripe = api.stripe.com:443, files.stripe.com
            allow app=web, tier in (a, b), zone notin (c), !legacy -> x.com:8000-8080, $stripe, *

            """)
    }

    @Test func blankLinesCollapseAndTheEndsAreTrimmed() throws {
        #expect(try format("\n\n\nallow * -> a.com\n\n\n\nallow * -> b.com\nallow * -> c.com\n\n\n") == "allow * -> a.com\n\nallow * -> b.com\nallow * -> c.com\n")
        #expect(try format("") == "")
        #expect(try format("\n\n") == "")
    }

    @Test func testFilesLineUpAndListTheWorkloadInOneOrder() throws {
        #expect(try format(
            """
            expect allow ns:shop,  tier=batch , sa:checkout,app=web -> api.stripe.com:443
            expect deny * -> X.COM.:80
            expect   deny  spiffe:spiffe://td/ns/a, pod:web-1, app==x -> x.com
            """, path: "policy_test.egress") == """
            expect allow  ns:shop, sa:checkout, app=web, tier=batch -> api.stripe.com
            expect deny   * -> X.COM.:80
            expect deny   pod:web-1, spiffe:spiffe://td/ns/a, app=x -> x.com

            """)
    }

    @Test func longStatementsBreakAfterEveryComma() throws {
        #expect(try format(
            "allow ns:shop, sa:checkout, app=web, tier in (batch, online), team=payments -> api.stripe.com:443, files.stripe.com:443, *.example.com as long-name\n"
        ) == """
            allow ns:shop,
                sa:checkout,
                app=web,
                tier in (batch, online),
                team=payments -> api.stripe.com:443,
                files.stripe.com:443,
                *.example.com as long-name

            """)
    }

    @Test func theLineWidthDecidesWhereToBreak() throws {
        let rule = "allow ns:shop, app=web -> a.example.com, b.example.com\n"
        #expect(rule.count - 1 == 54)
        #expect(try format(rule, lineWidth: 54) == rule)
        #expect(try format(rule, lineWidth: 53) == "allow ns:shop,\n    app=web -> a.example.com,\n    b.example.com\n")
        #expect(try format("hosts h = a.example.com, b.example.com\n", lineWidth: 20) == "hosts h = a.example.com,\n    b.example.com\n")
    }

    @Test func brokenDenyAndExpectLinesKeepTheirAlignment() throws {
        let deny = try format("deny ns:shop, app=web -> a.example.com, b.example.com\n", lineWidth: 40)
        let expect = try format("expect allow ns:shop, app=web -> a.example.com\n", path: "p_test.egress", lineWidth: 30)
        #expect(deny == "deny  ns:shop,\n    app=web -> a.example.com,\n    b.example.com\n")
        #expect(expect == "expect allow  ns:shop,\n    app=web -> a.example.com\n")
    }
}

@Suite("Formatter: comments")
struct FormatterCommentTests {
    @Test func ownLineTrailingAndInnerCommentsSurvive() throws {
        #expect(try format(
            """
            # own line
            allow ns:a,   # who
                  app=b -> x.com,  # first host
                  # own line inside
                  y.com as n  # last


            # between
            deny * -> z.com # t
            # end
            """) == """
            # own line
            allow ns:a,  # who
                app=b -> x.com,  # first host
                # own line inside
                y.com as n  # last

            # between
            deny  * -> z.com  # t
            # end

            """)
    }

    /// An expectation's terms are reordered, so a comment among them would
    /// end up beside the wrong term: it moves above the statement instead.
    @Test func aCommentInsideAnExpectationMovesAboveIt() throws {
        let text = "expect allow tier=batch,  # the batch tier\n  ns:shop -> a.com\n"
        let once = try format(text, path: "policy_test.egress")
        #expect(once == "# the batch tier\nexpect allow  ns:shop, tier=batch -> a.com\n")
        #expect(try format(once, path: "policy_test.egress") == once)
    }

    @Test func aCommentInsideAStatementKeepsItBroken() throws {
        #expect(try format("hosts h = a.com, # one\n  b.com\n") == "hosts h = a.com,  # one\n    b.com\n")
    }

    @Test func aCommentInsideParenthesesMovesBeforeTheStatement() throws {
        #expect(try format("allow tier in (a, # inside\n  b) -> x.com\n") == "# inside\nallow tier in (a, b) -> x.com\n")
    }

    @Test func aCommentInsideParenthesesOfABrokenStatementStaysPut() throws {
        let text = "allow tier in (a, # inside\n  b), ns:shop -> a.example.com, b.example.com\n"
        let once = try format(text, lineWidth: 40)
        let twice = try format(once, lineWidth: 40)
        #expect(parse(twice).comments.map(\.text) == ["# inside"])
        #expect(twice == once)
    }

    @Test func commentTextIsKeptExactly() throws {
        let text = "#no space\n#   indented text  \t\nallow * -> a.com #tight\n#\n"
        #expect(try format(text) == "#no space\n#   indented text\nallow * -> a.com  #tight\n#\n")
    }
}

@Suite("Formatter: proves itself")
struct FormatterStabilityTests {
    static var examplePolicies: [(path: String, text: String)] {
        get throws {
            let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().appendingPathComponent("policies")
            let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
                .filter { $0.hasSuffix(".egress") }.sorted()
            return try names.map { ($0, try String(contentsOf: directory.appendingPathComponent($0), encoding: .utf8)) }
        }
    }

    @Test func theExamplePoliciesAreAlreadyFormatted() throws {
        let files = try Self.examplePolicies
        #expect(files.count >= 3)
        for file in files {
            #expect(try format(file.text, path: file.path) == file.text, "\(file.path)")
            try checkStable(file.text, path: file.path)
        }
    }

    @Test(arguments: ownInputs.indices)
    func ownInputsAreStable(_ index: Int) throws {
        try checkStable(ownInputs[index].text, path: ownInputs[index].path)
    }

    @Test func randomPoliciesAreStable() throws {
        var random = XorShift(seed: 0xF0_4A_77)
        for _ in 0..<200 {
            for file in RandomPolicySet(&random).files {
                try checkStable(file.text, path: file.path)
            }
        }
    }

    @Test func inputWithErrorsIsRefused() throws {
        let text = "allow * -> a.com\nalow * -> b.com\nallow ns:a -> c_d.com\n"
        let error = #expect(throws: PolicyLang.Formatter.Failure.self) { try format(text) }
        guard case .invalidInput(let diagnostics) = error else {
            Issue.record("expected .invalidInput, got \(String(describing: error))")
            return
        }
        #expect(diagnostics.map(\.rendered) == [
            "policy.egress:2:1: error: expected 'allow', 'deny' or 'hosts', found 'alow' [syntax]",
            "policy.egress:3:15: error: host name 'c_d.com' contains '_'; a label holds only letters, digits and '-' [invalid-host]",
        ])
        #expect(error?.description == diagnostics.map(\.rendered).joined(separator: "\n"))
    }

    @Test func aTestFileWithRulesIsRefused() throws {
        let error = #expect(throws: PolicyLang.Formatter.Failure.self) { try format("allow * -> x.com\n", path: "x_test.egress") }
        guard case .invalidInput(let diagnostics) = error else {
            Issue.record("expected .invalidInput, got \(String(describing: error))")
            return
        }
        #expect(diagnostics.map(\.id) == [.syntax])
    }

    @Test func aTestHostWithColonsOnPort443() throws {
        // `::1:443` is host `::1`, port 443; written without its port it would read as host `:`, port 1.
        #expect(parse("expect deny * -> ::1:443\n", path: "x_test.egress").expectations.map(\.host) == ["::1"])
        try checkStable("expect deny * -> ::1:443\n", path: "x_test.egress")
    }

    @Test func warningsDoNotStopFormatting() throws {
        #expect(try format("allow *  ->  *\nhosts unused = x.com\n") == "allow * -> *\nhosts unused = x.com\n")
    }
}
