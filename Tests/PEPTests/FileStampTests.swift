#if canImport(Glibc)
import Glibc
#endif
import EgressAPI
import Foundation
import Testing
import LocalFiles

/// `FileStamp` on real files in a temporary directory: what the token and
/// workloads watchers see when a file appears, is edited, or is replaced.
@Suite final class FileStampTests {
    let directory: String

    init() throws {
        directory = NSTemporaryDirectory() + "filestamp-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func write(_ text: String, to path: String) throws {
        try text.write(toFile: path, atomically: false, encoding: .utf8)
    }

    /// Sets the file's modification time, so that only the inode can tell two files apart.
    private func setModified(_ path: String, seconds: Int) {
        var times = [timespec(tv_sec: seconds, tv_nsec: 0), timespec(tv_sec: seconds, tv_nsec: 0)]
        #expect(utimensat(AT_FDCWD, path, &times, 0) == 0)
    }

    @Test func aMissingFileHasNoFieldsAndEqualsTheEmptyStamp() {
        let stamp = FileStamp(path: directory + "/missing")
        #expect(stamp == FileStamp())
        #expect(stamp.inode == nil && stamp.size == nil && stamp.modified == nil)
    }

    @Test func anUnchangedFileReadsTheSameAndAnEditInPlaceDoesNot() throws {
        let path = directory + "/token"
        try write("first", to: path)
        let first = FileStamp(path: path)
        #expect(first.size == 5)
        #expect(first.inode != nil)
        #expect(FileStamp(path: path) == first)
        try write("second token", to: path)
        let edited = FileStamp(path: path)
        #expect(edited != first)
        #expect(edited.inode == first.inode)
    }

    @Test func aFileReplacedByARenameWithTheSameSizeAndModificationTimeIsSeen() throws {
        let path = directory + "/workloads.yaml"
        try write("same", to: path)
        setModified(path, seconds: 1_800_000_000)
        let before = FileStamp(path: path)
        let replacement = directory + "/workloads.yaml.new"
        try write("same", to: replacement)
        setModified(replacement, seconds: 1_800_000_000)
        #expect(rename(replacement, path) == 0)
        let after = FileStamp(path: path)
        #expect(after.size == before.size)
        #expect(after.modified == before.modified)
        #expect(after.inode != before.inode)
        #expect(after != before)
    }

    @Test func anEditThatPutsTheOldModificationTimeBackIsSeen() throws {
        let path = directory + "/token"
        try write("aaaa", to: path)
        setModified(path, seconds: 1_800_000_000)
        let before = FileStamp(path: path)
        // Inode times move with the kernel's clock tick (4 ms here).
        Thread.sleep(forTimeInterval: 0.02)
        try write("bbbb", to: path)
        setModified(path, seconds: 1_800_000_000)
        let after = FileStamp(path: path)
        #expect(after.inode == before.inode && after.size == before.size && after.modified == before.modified)
        #expect(after.changed != before.changed)
        #expect(after != before)
    }

    @Test func aSymlinkIsFollowedToTheFileItNames() throws {
        // A Kubernetes volume swaps a symlink to a new directory.
        let target = directory + "/data-1"
        try write("token", to: target)
        let link = directory + "/token-link"
        #expect(symlink(target, link) == 0)
        #expect(FileStamp(path: link) == FileStamp(path: target))
    }
}
