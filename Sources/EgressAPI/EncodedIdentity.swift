import PolicyLang

/// A source identity with its JSON forms made once. The decision service
/// keeps one per workload and sends it on every answer; encoding it per
/// decision would cost more than the decision. A class, so that an answer
/// and its audit record share it by one reference.
public final class EncodedIdentity: Sendable, Equatable, CustomStringConvertible {
    public let identity: SourceIdentity
    /// The decision API's `source` object.
    public let json: String
    /// The labels alone, keys sorted, as the audit table stores them.
    public let labelsJSON: String

    public init(_ identity: SourceIdentity) {
        self.identity = identity
        json = JSONText.identity(identity)
        labelsJSON = JSONText.labels(identity.labels)
    }

    public static func == (a: EncodedIdentity, b: EncodedIdentity) -> Bool { a.identity == b.identity }
    public var description: String { json }
}
