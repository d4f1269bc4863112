import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The files a run is writing and has not published yet (temporary tarballs, checksum files,
/// JARs, cache ingests), so that SIGINT/SIGTERM can remove them before the process exits, and
/// the names those files carry, so that a later run can tell a leftover of a dead writer from a
/// file another live run is still writing.
///
/// One registry per process, on purpose: a signal is delivered to the process, not to a value,
/// and the handler must find every file whichever verb is running.
public final class WorkInProgress: @unchecked Sendable {
    public static let shared = WorkInProgress()

    private let lock = NSLock()
    private var paths = Set<String>()

    public func add(_ path: String) { lock.lock(); paths.insert(path); lock.unlock() }
    public func remove(_ path: String) { lock.lock(); paths.remove(path); lock.unlock() }

    /// Unlinks every file (and staging folder, see `AtomicDirectory`) still being written; for
    /// the signal handler, just before exit.
    public func removeAll() {
        lock.lock()
        let pending = paths
        paths.removeAll()
        lock.unlock()
        for path in pending where unlink(path) != 0 && errno == EISDIR {
            try? FileManager.default.removeItem(atPath: path)
        }
    }

    /// `.<name>.partial-<pid>-<random>`: hidden, beside its destination, naming its writer.
    public static func partialName(for destination: String) -> String {
        let url = URL(fileURLWithPath: destination)
        return "\(url.deletingLastPathComponent().path)/.\(url.lastPathComponent).partial-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    }

    /// Whether a file name is one of airgap's temporaries (`.x.partial-123-456`); never packed,
    /// never taken for a JAR.
    public static func isPartialName(_ name: String) -> Bool {
        writerPID(ofPartial: name) != nil
    }

    static func writerPID(ofPartial name: String) -> pid_t? {
        guard name.hasPrefix("."), let range = name.range(of: ".partial-", options: .backwards) else { return nil }
        let fields = name[range.upperBound...].split(separator: "-")
        guard fields.count == 2, UInt32(fields[1]) != nil else { return nil }
        return pid_t(fields[0])
    }

    /// `<pid>-<uuid>`: an ingest file in the cache.
    static func writerPID(ofIngest name: String) -> pid_t? {
        guard let dash = name.firstIndex(of: "-") else { return nil }
        return pid_t(name[..<dash])
    }

    /// A process that no longer exists. (A pid reused since is taken for alive: its file stays
    /// until a later run, which is safe, never the other way round.)
    static func isGone(_ pid: pid_t) -> Bool {
        pid > 0 && pid != getpid() && kill(pid, 0) != 0 && errno == ESRCH
    }

    /// Removes the partial files in `directory` whose writer is gone: what a run killed with
    /// SIGKILL (or a power cut) left behind. Returns what it removed.
    @discardableResult
    public static func sweepPartials(in directory: String) -> [String] {
        sweep(directory) { writerPID(ofPartial: $0) }
    }

    /// Removes the cache's ingest files whose writer is gone.
    @discardableResult
    public static func sweepIngests(in directory: String) -> [String] {
        sweep(directory) { writerPID(ofIngest: $0) }
    }

    private static func sweep(_ directory: String, writer: (String) -> pid_t?) -> [String] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
        var removed: [String] = []
        for name in names {
            guard let pid = writer(name), isGone(pid) else { continue }
            if unlink("\(directory)/\(name)") == 0 { removed.append("\(directory)/\(name)") }
        }
        return removed
    }
}
