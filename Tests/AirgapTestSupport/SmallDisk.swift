import Foundation

/// A tmpfs of a few KiB mounted at `path`, for what a full disk does to a run. Unmounted (by
/// its mount point) and removed when `unmount` is called or the value goes, also after a failure.
public final class SmallDisk {
    public let path: String
    private var mounted = false

    public init(at path: String, bytes: Int) throws {
        self.path = path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        try Command.check("mount", ["-t", "tmpfs", "-o", "size=\(bytes),mode=0755", "airgap-test-small-disk", path])
        mounted = true
    }

    public func unmount() {
        guard mounted else { return }
        _ = try? Command.run("umount", [path])
        mounted = false
        try? FileManager.default.removeItem(atPath: path)
    }

    deinit { unmount() }
}
