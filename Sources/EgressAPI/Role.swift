/// What a bearer token may do. `admin` changes policy, workloads and tokens;
/// `viewer` reads them and the audit trail; `pep` may only call the decision
/// API, naming a decision's source by its address; `pep-identity` may also
/// name it by an identity of its own knowing (a SPIFFE ID, or namespace,
/// service account, pod and labels), which the service then takes on trust.
/// Roles do not nest: a `pep` token cannot read the admin API, and an admin
/// token cannot ask for decisions (enforcers get their own tokens).
public enum Role: String, Codable, Sendable, CaseIterable {
    case admin, viewer, pep
    case pepIdentity = "pep-identity"

    /// Whether this role may call the decision API.
    public var isEnforcer: Bool { self == .pep || self == .pepIdentity }

    /// Whether this role may use an admin endpoint that needs `required`.
    public func permits(_ required: Role) -> Bool {
        switch (self, required) {
        case (.admin, .admin), (.admin, .viewer), (.viewer, .viewer): return true
        default: return false
        }
    }
}
