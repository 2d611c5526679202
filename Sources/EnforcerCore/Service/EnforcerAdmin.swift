import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

/// Every enforcer's admin listener: `/healthz` (the process answers),
/// `/readyz` (it may take traffic: its listeners are bound and its watch
/// stream is up, so that no cached verdict can outlive a policy change) and
/// `/metrics` (Prometheus text).
public enum EnforcerAdmin {
    public static func application(
        host: String, port: Int, group: EventLoopGroup, logger: Logger,
        isReady: @escaping @Sendable () -> Bool, metrics: @escaping @Sendable () -> String
    ) -> some Service {
        let router = Router(context: BasicRequestContext.self)
        router.get("healthz") { _, _ in "ok\n" }
        router.get("readyz") { _, _ -> Response in
            let ready = isReady()
            return Response(
                status: ready ? .ok : .serviceUnavailable,
                body: .init(byteBuffer: ByteBuffer(string: ready ? "ready\n" : "starting\n")))
        }
        router.get("metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                body: .init(byteBuffer: ByteBuffer(string: metrics())))
        }
        return Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port), serverName: nil),
            onServerRunning: { channel in
                logger.notice("admin listening", metadata: ["address": "http://\(channel.localAddress.map { "\($0.ipAddress ?? "?"):\($0.port ?? 0)" } ?? "?")"])
            },
            eventLoopGroupProvider: .shared(group), logger: logger)
    }
}
