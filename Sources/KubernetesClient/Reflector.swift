/// An object with Kubernetes' standard metadata.
public protocol KubernetesObject: Codable, Sendable {
    var metadata: Kubernetes.ObjectMeta { get }
}

extension Kubernetes.Pod: KubernetesObject {}
extension Kubernetes.Namespace: KubernetesObject {}

/// Keeps a local copy of one resource in step with the API server, the way
/// client-go's reflector does: list (every page), then watch from the list's
/// resourceVersion with bookmarks; when a watch ends, watch again from the
/// last version seen; on 410 Gone (too old a version) list again, the new
/// list replacing the old as a whole; on any other failure wait with
/// exponential backoff and jitter, then go on from the last version seen.
public struct Reflector<Object: KubernetesObject>: Sendable {
    /// What happened, for logs and metrics.
    public enum Report: Sendable {
        case listed(count: Int)
        case event(Kubernetes.WatchEvent<Object>.Kind)
        /// The version was too old (410): listing again.
        case expired
        case failed(any Error, retryIn: Duration)
    }

    public let api: KubernetesAPI
    /// `/api/v1/pods`, `/api/v1/namespaces/NS/pods` or `/api/v1/namespaces`.
    public let path: String
    /// The server ends each watch after this long, and it is opened again.
    public var watchTimeoutSeconds = 300
    public var firstBackoff: Duration = .milliseconds(200)
    public var maxBackoff: Duration = .seconds(30)

    public init(api: KubernetesAPI, path: String) {
        self.api = api
        self.path = path
    }

    /// Runs until the task is cancelled. `relisted` gets every object of a
    /// full list; `changed` every watch event but bookmarks.
    public func run(
        relisted: @Sendable ([Object]) async -> Void,
        changed: @Sendable (Kubernetes.WatchEvent<Object>.Kind, Object) async -> Void,
        report: @Sendable (Report) async -> Void
    ) async {
        var version: String?
        var failures = 0
        while !Task.isCancelled {
            do {
                if version == nil {
                    let (items, listVersion) = try await api.list(path, as: Object.self)
                    await relisted(items)
                    await report(.listed(count: items.count))
                    version = listVersion
                }
                try await api.watch(path, as: Object.self, from: version ?? "", timeoutSeconds: watchTimeoutSeconds) { kind, object in
                    failures = 0
                    if let seen = object.metadata.resourceVersion, !seen.isEmpty { version = seen }
                    await report(.event(kind))
                    if kind != .bookmark { await changed(kind, object) }
                }
                failures = 0
            } catch let failure as KubernetesAPI.Failure where failure.isGone {
                version = nil
                await report(.expired)
            } catch {
                if Task.isCancelled { return }
                failures += 1
                let delay = backoff(after: failures)
                await report(.failed(error, retryIn: delay))
                try? await Task.sleep(for: delay)
            }
        }
    }

    /// Doubling from `firstBackoff` up to `maxBackoff`, each wait drawn
    /// between half and all of it, so that many clients do not retry in step.
    func backoff(after failures: Int) -> Duration {
        let doubled = firstBackoff * (1 << min(failures - 1, 20))
        let cap = min(doubled, maxBackoff)
        return cap * Double.random(in: 0.5...1.0)
    }
}
