import Foundation
import Manifests
import OCILayout

/// The bundle against the lock: what `verify` proves (a defect is one finding), then every
/// field of the lock against the bundle and against the lock the bundle carries, each
/// difference a finding (`LockComparison`, the comparison verify stops at the first of).
enum BundleCheck {
    /// `opened`: the bundle when the auditor already read it (to take the lock inside).
    static func findings(_ path: String, against lock: Lockfile, lockPath: String, opened: BundleReader? = nil) async -> (BundleReader?, [Finding]) {
        let bundle: BundleReader
        do {
            if let opened { bundle = opened } else { bundle = try await BundleReader.open(path, progress: .silent) }
        } catch let defect as LayoutDefect {
            return (nil, [Finding("BUNDLE-DEFECT", .error, defect.entry, defect.problem, fix: "pack the bundle again")])
        } catch {
            return (nil, [Finding("BUNDLE-DEFECT", .error, path, "\(error)", fix: "pack the bundle again")])
        }
        var differences = LockComparison.compare(lock, named: lockPath, with: bundle)
        let inside = "\(LayoutPath.lockFileName) (inside the bundle)"
        if let embedded = bundle.lock {
            differences += LockComparison.compare(lock, named: lockPath, with: embedded, named: inside)
            // The lock inside against its own bundle: a bundle repacked around another lock.
            differences += LockComparison.compare(embedded, named: inside, with: bundle).filter { $0.kind != .extra && $0.kind != .missing }
        }
        let repack = "pack the bundle from this lock"
        let findings = differences.compactMap { difference -> Finding? in
            switch difference.kind {
            case .missing:
                return Finding("BUNDLE-MISSING", .error, difference.subject, "pinned by \(lockPath), absent from the bundle", fix: repack)
            case .extra:
                return Finding("BUNDLE-EXTRA", .error, difference.subject, "in the bundle but not in \(lockPath)", fix: repack)
            case .digest:
                return Finding("BUNDLE-DIGEST", .error, difference.subject, difference.problem, fix: repack)
            case .field:
                return Finding("BUNDLE-LOCK-FIELD", .error, difference.subject, difference.problem, fix: repack)
            case .lockVersusLock:
                return Finding("BUNDLE-LOCK-DIFFERS", .error, difference.subject, difference.problem,
                               fix: "the bundle was packed from another lock (or either was edited): audit with the lock the bundle was packed from, or pack again")
            case .unpinned:
                return nil  // LOCK-UNRESOLVED / LOCK-*-UNPINNED say it for the lock itself
            }
        }
        return (bundle, findings)
    }
}
