/// An error that is the decision service's own answer rather than a failure
/// to reach it. When `isRefusal`, the enforcer obeys it: no stale verdict
/// stands in (`VerdictCache`), whatever `--stale-max-age` allows.
public protocol DecisionServiceAnswer: Error {
    var isRefusal: Bool { get }
}
