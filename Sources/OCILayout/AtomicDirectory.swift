import CSystem
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A directory that appears whole or not at all: built under a hidden staging name inside the
/// destination's parent (same file system), synced, then renamed into place. An existing
/// destination is swapped out in one step (RENAME_EXCHANGE) and then removed, so readers see
/// the old tree or the new one, never a mixture or nothing. The staging folder is named like
/// `AtomicFile`'s temporaries (`.<label>.partial-<pid>-<n>`): SIGINT/SIGTERM remove it
/// (`WorkInProgress`), and one a killed run left is swept by the next staging in that folder.
public enum AtomicDirectory {
    /// Creates an empty staging directory inside `parent`.
    public static func stage(in parent: String, label: String) throws -> String {
        try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
        sweepStaging(in: parent)
        let staged = WorkInProgress.partialName(for: "\(parent)/\(label)")
        guard mkdir(staged, 0o755) == 0 else {
            throw LayoutError.io(path: parent, operation: "create a staging directory", errno: errno)
        }
        WorkInProgress.shared.add(staged)
        return staged
    }

    /// Removes a staging directory and everything in it.
    public static func discard(_ staged: String) {
        try? FileManager.default.removeItem(atPath: staged)
        WorkInProgress.shared.remove(staged)
    }

    /// Staging folders in `parent` whose writer is gone (a run killed with SIGKILL).
    static func sweepStaging(in parent: String) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: parent) else { return }
        for name in names {
            guard let pid = WorkInProgress.writerPID(ofPartial: name), WorkInProgress.isGone(pid) else { continue }
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: "\(parent)/\(name)", isDirectory: &isDirectory), isDirectory.boolValue {
                try? FileManager.default.removeItem(atPath: "\(parent)/\(name)")
            }
        }
    }

    /// Moves `staged` to `destination`, replacing a destination that exists.
    public static func install(_ staged: String, at destination: String) throws {
        defer { WorkInProgress.shared.remove(staged) }
        try syncTree(staged)
        let parent = URL(fileURLWithPath: destination).deletingLastPathComponent().path
        if FileManager.default.fileExists(atPath: destination) {
            if airgap_exchange_paths(staged, destination) != 0 {
                guard errno == EINVAL || errno == ENOSYS else {
                    throw LayoutError.io(path: destination, operation: "replace", errno: errno)
                }
                // No exchange on this file system: the old tree steps aside first.
                let aside = staged + ".old"
                guard rename(destination, aside) == 0 else { throw LayoutError.io(path: destination, operation: "rename", errno: errno) }
                guard rename(staged, destination) == 0 else {
                    let code = errno
                    _ = rename(aside, destination)
                    throw LayoutError.io(path: destination, operation: "rename", errno: code)
                }
                try? FileManager.default.removeItem(atPath: aside)
            } else {
                // `staged` now holds the old tree.
                try? FileManager.default.removeItem(atPath: staged)
            }
        } else {
            guard rename(staged, destination) == 0 else { throw LayoutError.io(path: destination, operation: "rename", errno: errno) }
        }
        if let handle = try? FileDescriptor(path: parent, flags: O_RDONLY | O_DIRECTORY) { try? handle.sync() }
    }

    /// fsync of every directory in the tree (files are synced as they are written).
    private static func syncTree(_ root: String) throws {
        var directories = [root]
        if let walker = FileManager.default.enumerator(atPath: root) {
            for case let relative as String in walker {
                var isDirectory: ObjCBool = false
                if FileManager.default.fileExists(atPath: "\(root)/\(relative)", isDirectory: &isDirectory), isDirectory.boolValue {
                    directories.append("\(root)/\(relative)")
                }
            }
        }
        for directory in directories {
            try FileDescriptor(path: directory, flags: O_RDONLY | O_DIRECTORY).sync()
        }
    }
}
