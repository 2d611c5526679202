#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// What is compared between two looks at a watched file (the enforcer's
/// `--pdp-token-file`, the decision service's `--workloads`): its inode,
/// size, and modification and status-change times, from one stat(2) that
/// follows symlinks. A file replaced by a rename (or a Kubernetes volume's
/// symlink swap) has a new inode even when its size and times are the
/// same; one edited in place has a new time or size. The status-change
/// time catches an edit that put the old modification time back (`cp -p`,
/// `rsync -t`) at the same size. A file that cannot be stat'ed (missing, or
/// in a directory the service may not search) has no fields.
///
/// Not FileManager's `attributesOfItem` or URL's `resourceValues`: both also
/// name the file's owner and group, reading /etc/passwd and /etc/group on
/// every call, and these files are looked at every second or two for the
/// life of the service.
public struct FileStamp: Equatable, Sendable {
    public var inode: UInt64?
    public var size: Int64?
    /// Nanoseconds since the epoch.
    public var modified: Int64?
    /// The inode's last change, in nanoseconds since the epoch: set by the
    /// kernel, not by the writer.
    public var changed: Int64?

    /// No file: what a missing file reads as.
    public init() {}

    public init(path: String) {
        var status = stat()
        guard stat(path, &status) == 0 else { return }
        inode = UInt64(status.st_ino)
        size = Int64(status.st_size)
        #if canImport(Darwin)
        modified = Self.nanoseconds(status.st_mtimespec)
        changed = Self.nanoseconds(status.st_ctimespec)
        #else
        modified = Self.nanoseconds(status.st_mtim)
        changed = Self.nanoseconds(status.st_ctim)
        #endif
    }

    private static func nanoseconds(_ time: timespec) -> Int64 {
        Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec)
    }
}
