import EnforcerCore
import Foundation
import NIOCore
import Logging
import NIOPosix

/// Event loops pinned one to each CPU the process may run on.
///
/// Measured with bench/pep-bench's sequential handshakes: unpinned, the
/// scheduler often woke an event loop on the CPU of the client that had just
/// sent to it, where it waited for the client to block, or moved it between
/// CPUs and caches. Pinned, the same enforcer added about 150 µs less per
/// connection (docs/benchmarks.md). For an egress gateway with cores of its
/// own; beside busy workloads a pinned loop cannot move away from a CPU they
/// hog, so it is off by default.
public enum CPUAffinity {
    /// glibc's CPU_SETSIZE: NIO's pinning cannot name a CPU past it.
    static let maxCPUs = 1024

    /// The CPUs this process may run on (its affinity mask: a container's
    /// cpuset, `taskset`), in ascending order; empty if it cannot be read.
    /// Read from /proc/self/status: glibc's sched_getaffinity is not visible
    /// to Swift without _GNU_SOURCE.
    public static func allowedCPUs(status: String? = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) -> [Int] {
        guard let status,
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Cpus_allowed_list:") })
        else { return [] }
        return cpuList(line.dropFirst("Cpus_allowed_list:".count).trimmingCharacters(in: .whitespaces)) ?? []
    }

    /// A kernel CPU list such as `0-3,8,10-11`; nil if it is not one, or
    /// names a CPU past `maxCPUs`.
    static func cpuList(_ text: String) -> [Int]? {
        var cpus: [Int] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let bounds = part.split(separator: "-", omittingEmptySubsequences: false)
            guard (1...2).contains(bounds.count), let low = Int(bounds[0]), let high = Int(bounds[bounds.count - 1]), 0 <= low,
                low <= high, high < maxCPUs
            else { return nil }
            cpus.append(contentsOf: low...high)
        }
        return cpus.isEmpty ? nil : cpus
    }

    /// The event loop group: `threads` loops (nil: one per CPU the process may
    /// use), loop i on the i-th such CPU, round robin when there are more
    /// loops than CPUs. Unpinned, with a warning, where the mask cannot be
    /// read or pinning is not available (not Linux).
    public static func pinnedGroup(threads: Int?, logger: Logger) -> MultiThreadedEventLoopGroup {
        #if os(Linux)
        let cpus = allowedCPUs()
        if !cpus.isEmpty {
            let count = max(1, threads ?? cpus.count)
            let pinned = (0..<count).map { cpus[$0 % cpus.count] }
            logger.notice("event loops pinned", metadata: ["cpus": "\(pinned.map(String.init).joined(separator: ","))"])
            return MultiThreadedEventLoopGroup(pinnedCPUIDs: pinned)
        }
        logger.warning("cannot read this process's CPUs (/proc/self/status); event loops are not pinned")
        #else
        logger.warning("--pin-event-loops works on Linux only; event loops are not pinned")
        #endif
        return MultiThreadedEventLoopGroup(numberOfThreads: max(1, threads ?? System.coreCount))
    }
}
