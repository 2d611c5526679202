#if canImport(Glibc)
import EnforcerCore
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Resolves the SNI to addresses with the system resolver (getaddrinfo, so
/// `/etc/resolv.conf` and `/etc/hosts` of the enforcer's own network
/// namespace, never anything the workload chose), on a thread pool so that
/// a slow DNS server never blocks an event loop.
///
/// Answers are kept for `cacheTTL` (getaddrinfo does not tell DNS TTLs), so
/// that a busy name costs one lookup per period, not one per connection. A
/// connection waits at most `timeout` for an answer: getaddrinfo cannot be
/// cancelled and, with a DNS server that does not answer, takes as long as
/// resolv.conf's timeouts and attempts allow; the lookup goes on in the
/// pool, and connections that want the same name meanwhile wait for it.
public final class NameResolver: Sendable {
    let pool: NIOThreadPool
    let cacheTTL: TimeAmount
    let timeout: TimeAmount
    /// Distinct names looked up at once, at most. A lookup goes on after its
    /// connections gave up (getaddrinfo cannot be stopped), so without a
    /// bound a workload asking for ever new names while DNS is slow would
    /// queue lookups faster than the pool's threads finish them, and every
    /// other name would wait behind them.
    let maxPending: Int
    private let cache = NIOLockedValueBox(LRUDictionary<String, (addresses: [SocketAddress], expires: NIODeadline)>(capacity: 10_000))
    /// Lookups under way: connections that want the same name wait for one
    /// lookup rather than each taking a thread of the pool.
    private let inflight = NIOLockedValueBox<[String: Task<[SocketAddress], Error>]>([:])

    public init(pool: NIOThreadPool, cacheTTL: TimeAmount = .seconds(10), timeout: TimeAmount = .seconds(5), maxPending: Int = 64) {
        self.pool = pool
        self.cacheTTL = cacheTTL
        self.timeout = timeout
        self.maxPending = maxPending
    }

    /// The name's addresses if a lookup within `cacheTTL` found them.
    public func cached(_ host: String, port: Int) -> [SocketAddress]? {
        guard cacheTTL > .zero else { return nil }
        let now = NIODeadline.now()
        return cache.withLockedValue { cache in
            guard let entry = cache.get(host), entry.expires > now else { return nil }
            return entry.addresses.map { Self.withPort($0, port) }
        }
    }

    public func resolve(_ host: String, port: Int) async throws -> [SocketAddress] {
        if let cached = cached(host, port: port) { return cached }
        let task = inflight.withLockedValue { inflight -> Task<[SocketAddress], Error>? in
            if let task = inflight[host] { return task }
            guard inflight.count < maxPending else { return nil }
            // The lookup keeps its own answer, so that one that comes after
            // its waiters gave up still serves the next connection; and it
            // leaves `inflight` itself (the lock is held until it is in).
            let task = Task { [self] in
                let result: Result<[SocketAddress], Error>
                do {
                    result = .success(try await lookup(host))
                } catch {
                    result = .failure(error)
                }
                if case .success(let addresses) = result, cacheTTL > .zero {
                    let expires = NIODeadline.now() + cacheTTL
                    _ = cache.withLockedValue { $0.set(host, (addresses, expires)) }
                }
                _ = self.inflight.withLockedValue { $0.removeValue(forKey: host) }
                return try result.get()
            }
            inflight[host] = task
            return task
        }
        guard let task else { throw Busy(pending: maxPending) }
        return try await answer(of: task, for: host).map { Self.withPort($0, port) }
    }

    /// The lookup's answer, or a failure once `timeout` has passed.
    private func answer(of task: Task<[SocketAddress], Error>, for host: String) async throws -> [SocketAddress] {
        let timeout = timeout
        return try await withCheckedThrowingContinuation { continuation in
            let resumed = NIOLockedValueBox(false)
            let resume: @Sendable (Result<[SocketAddress], Error>) -> Void = { result in
                let first = resumed.withLockedValue { resumed in
                    defer { resumed = true }
                    return !resumed
                }
                if first { continuation.resume(with: result) }
            }
            let timer = Task {
                // Cancelled when the answer comes first.
                guard (try? await Task.sleep(nanoseconds: UInt64(timeout.nanoseconds))) != nil else { return }
                resume(.failure(Timeout(host: host, timeout: timeout)))
            }
            Task {
                let result = await task.result
                timer.cancel()
                resume(result)
            }
        }
    }

    private static func withPort(_ address: SocketAddress, _ port: Int) -> SocketAddress {
        var address = address
        address.port = port
        return address
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// `maxPending` names are being looked up already (DNS is slow and
    /// workloads keep asking for new names): refused at once rather than
    /// queued behind them.
    public struct Busy: Error, CustomStringConvertible {
        public let pending: Int
        public var description: String { "\(pending) lookups are already waiting for the resolver" }
    }

    /// The resolver did not answer in time: a DNS server down or unreachable.
    public struct Timeout: Error, CustomStringConvertible {
        public let host: String
        public let timeout: TimeAmount
        public var description: String {
            "no answer from the resolver for \(host) within \(Double(timeout.nanoseconds) / 1e9) s"
        }
    }

    /// The name's addresses, IPv4 first (in the resolver's order within each family).
    private func lookup(_ host: String) async throws -> [SocketAddress] {
        try await pool.runIfActive {
            var hints = addrinfo()
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
            hints.ai_family = AF_UNSPEC
            var result: UnsafeMutablePointer<addrinfo>?
            let code = getaddrinfo(host, nil, &hints, &result)
            guard code == 0, let first = result else {
                throw Failure(description: "\(host) does not resolve: \(String(cString: gai_strerror(code)))")
            }
            defer { freeaddrinfo(first) }
            var v4: [SocketAddress] = []
            var v6: [SocketAddress] = []
            var node: UnsafeMutablePointer<addrinfo>? = first
            while let info = node {
                if let address = info.pointee.ai_addr {
                    switch Int32(address.pointee.sa_family) {
                    case AF_INET:
                        let a = address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { SocketAddress($0.pointee, host: host) }
                        if !v4.contains(a) { v4.append(a) }
                    case AF_INET6:
                        let a = address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { SocketAddress($0.pointee, host: host) }
                        if !v6.contains(a) { v6.append(a) }
                    default:
                        break
                    }
                }
                node = info.pointee.ai_next
            }
            guard !(v4.isEmpty && v6.isEmpty) else { throw Failure(description: "\(host) has no address") }
            return v4 + v6
        }
    }
}
