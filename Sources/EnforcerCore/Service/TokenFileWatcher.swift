import EgressAPI
import Foundation
import Logging
import ServiceLifecycle
import LocalFiles

/// Rereads `--pdp-token-file` when it changes, so that a token can be
/// rotated without a restart: write the new token to the file (atomically,
/// with a rename), wait for the log line, then revoke the old one. A file
/// that becomes unreadable or empty is logged and the token in use is kept.
public final class TokenFileWatcher: Service, Sendable {
    let path: String
    let pdp: PDPClient
    let interval: Duration
    let logger: Logger

    public init(path: String, pdp: PDPClient, interval: Duration = .seconds(2), logger: Logger) {
        self.path = path
        self.pdp = pdp
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown { await self.watch() }
    }

    private func watch() async {
        var seen = FileStamp(path: path)
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            let now = FileStamp(path: path)
            guard now != seen else { continue }
            seen = now
            reload()
        }
    }

    /// Reads the file and, if it holds a token other than the one in use,
    /// uses it from the next request on.
    public func reload() {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            logger.warning("cannot read the token file; keeping the token in use", metadata: ["file": "\(path)"])
            return
        }
        let token = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !token.isEmpty else {
            logger.warning("the token file is empty; keeping the token in use", metadata: ["file": "\(path)"])
            return
        }
        guard token != pdp.currentToken else { return }
        pdp.currentToken = token
        logger.notice("the token file changed; using its token from now on", metadata: ["file": "\(path)"])
    }
}
