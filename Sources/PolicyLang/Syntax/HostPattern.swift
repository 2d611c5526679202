/// The "where" of a rule: an exact DNS name, `*.suffix`, or `*`.
///
/// Names are stored lower-cased, without a trailing dot, so that equal
/// patterns compare equal.
public enum HostPattern: Sendable, Hashable, CustomStringConvertible {
    /// Exactly this name.
    case exact(String)
    /// Any name strictly below this suffix, at any depth (not the suffix itself).
    case wildcard(suffix: String)
    /// Any name, including requested hosts that are not DNS names.
    case any

    public var description: String {
        switch self {
        case .exact(let name): return name
        case .wildcard(let suffix): return "*." + suffix
        case .any: return "*"
        }
    }

    /// Whether every host this pattern matches is also matched by `other`.
    public func isCovered(by other: HostPattern) -> Bool {
        switch (self, other) {
        case (_, .any): return true
        case (.any, _): return false
        case (.exact(let a), .exact(let b)): return a == b
        case (.exact(let name), .wildcard(let suffix)): return name.isStrictSubdomain(of: suffix)
        case (.wildcard(let a), .wildcard(let b)): return a == b || a.isStrictSubdomain(of: b)
        case (.wildcard, .exact): return false
        }
    }
}

/// A destination port restriction; `nil` on a host item means every port.
public struct PortRange: Sendable, Hashable, CustomStringConvertible {
    public let low: Int
    public let high: Int

    public init(low: Int, high: Int) {
        self.low = low
        self.high = high
    }

    public func contains(_ port: Int) -> Bool { low <= port && port <= high }

    public var description: String { low == high ? "\(low)" : "\(low)-\(high)" }
}

extension String {
    /// `a.b.c` is a strict subdomain of `b.c` and of `c`, not of itself.
    func isStrictSubdomain(of suffix: String) -> Bool {
        utf8.count > suffix.utf8.count + 1 && hasSuffix("." + suffix)
    }
}
