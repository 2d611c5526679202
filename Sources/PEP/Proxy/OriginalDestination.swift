#if canImport(Glibc)
import EnforcerCore
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import NIOCore

/// Where a redirected connection was going: `SO_ORIGINAL_DST`, which the
/// kernel's NAT (iptables `REDIRECT`) keeps for the accepted socket.
enum OriginalDestination {
    /// `SO_ORIGINAL_DST` and `IP6T_SO_ORIGINAL_DST` (linux/netfilter_ipv4.h, netfilter_ipv6/ip6_tables.h).
    private static let option = NIOBSDSocket.Option(rawValue: 80)

    /// Nil when the socket has no NAT entry (it was not redirected).
    static func of(_ channel: Channel) -> EventLoopFuture<SocketAddress?> {
        guard let provider = channel as? SocketOptionProvider else { return channel.eventLoop.makeSucceededFuture(nil) }
        // An IPv4 connection on a dual-stack socket has an IPv4-mapped local
        // address, and its NAT entry is an IPv4 one.
        if channel.localAddress?.protocol == .inet6, !(channel.localAddress?.ipAddress?.hasPrefix("::ffff:") ?? false) {
            let v6: EventLoopFuture<sockaddr_in6> = provider.unsafeGetSocketOption(
                level: NIOBSDSocket.OptionLevel(rawValue: Int32(IPPROTO_IPV6)), name: option)
            return v6.map { Optional(SocketAddress($0, host: "")) }.recover { _ in nil }
        }
        let v4: EventLoopFuture<sockaddr_in> = provider.unsafeGetSocketOption(
            level: NIOBSDSocket.OptionLevel(rawValue: Int32(IPPROTO_IP)), name: option)
        return v4.map { Optional(SocketAddress($0, host: "")) }.recover { _ in nil }
    }
}
