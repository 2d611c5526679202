import Foundation
import NIOPosix

/// Event loops pinned one to each CPU the process may run on.
///
/// Measured with bench/pep-bench's sequential handshakes: unpinned, the
/// scheduler often woke an event loop on the CPU of the client that had just
/// sent to it, where it waited for the client to block, or moved it between
/// CPUs and caches; pinned, the added handshake latency fell from about 350
/// to about 100 µs (HAProxy pinned the same way beside it). For an egress
/// gateway with cores of its own; beside busy workloads a pinned loop cannot
/// move away from a CPU they hog, so it is off by default.
public enum CPUAffinity {
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

    /// A kernel CPU list such as `0-3,8,10-11`; nil if it is not one.
    static func cpuList(_ text: String) -> [Int]? {
        var cpus: [Int] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let bounds = part.split(separator: "-", omittingEmptySubsequences: false)
            guard (1...2).contains(bounds.count), let low = Int(bounds[0]), let high = Int(bounds[bounds.count - 1]), 0 <= low,
                low <= high, high < 65_536
            else { return nil }
            cpus.append(contentsOf: low...high)
        }
        return cpus.isEmpty ? nil : cpus
    }

    /// `count` event loops, loop i on the i-th allowed CPU (round robin when
    /// there are more loops than CPUs); unpinned when the mask cannot be read.
    public static func pinnedGroup(threads count: Int) -> MultiThreadedEventLoopGroup {
        let cpus = allowedCPUs()
        guard !cpus.isEmpty else { return MultiThreadedEventLoopGroup(numberOfThreads: count) }
        return MultiThreadedEventLoopGroup(pinnedCPUIDs: (0..<count).map { cpus[$0 % cpus.count] })
    }
}
