/// Turns policy files into a `PolicyIndex`, in named stages:
///
/// 1. parse every file (syntax, invalid-host, invalid-selector, invalid-port);
/// 2. resolve `$NAME` references (undefined-hosts, duplicate-hosts);
/// 3. refuse a set whose policy files have errors (test files aside);
/// 4. build the index: precompiled selectors and the host trie.
///
/// Lint warnings are not a stage: a set with warnings loads.
public enum PolicyCompiler {
    /// The set could not be compiled; `diagnostics` says why.
    public struct Failure: Error, Sendable {
        public let diagnostics: [Diagnostic]
    }

    public static func compile(_ files: [SourceFile]) throws(Failure) -> PolicyIndex {
        try compile(PolicySet(files: files))
    }

    public static func compile(_ set: PolicySet) throws(Failure) -> PolicyIndex {
        let errors = set.policyErrors
        guard errors.isEmpty else { throw Failure(diagnostics: errors) }
        return PolicyIndex(set)
    }
}
