#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore
import NIOPosix

/// Resolves the SNI to addresses with the system resolver (getaddrinfo, so
/// `/etc/resolv.conf` and `/etc/hosts` of the enforcer's own network
/// namespace, never anything the workload chose), on a thread pool so that
/// a slow DNS server never blocks an event loop.
public struct NameResolver: Sendable {
    let pool: NIOThreadPool

    public init(pool: NIOThreadPool) {
        self.pool = pool
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// The name's addresses, IPv4 first (in the resolver's order within each family).
    public func resolve(_ host: String, port: Int) async throws -> [SocketAddress] {
        try await pool.runIfActive {
            var hints = addrinfo()
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
            hints.ai_family = AF_UNSPEC
            var result: UnsafeMutablePointer<addrinfo>?
            let code = getaddrinfo(host, String(port), &hints, &result)
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
