import Foundation
import Manifests
import OCILayout

public enum LockError: Error, CustomStringConvertible {
    case unknownVersion(path: String, version: Int)
    case specChanged(spec: String, lock: String)
    case unresolved(lock: String, entries: [(reference: String, reason: String)])
    case moved(reference: String, from: String, to: String)
    case missing(lock: String, reference: String)
    case signaturesNotLocked(lock: String, reference: String)

    public var description: String {
        switch self {
        case .unknownVersion(let path, let version):
            return "\(path): lock format \(version) is newer than this airgap understands (\(Lockfile.currentVersion)); upgrade airgap"
        case .specChanged(let spec, let lock):
            return "\(spec) changed since \(lock) was written; run `airgap lock` to resolve it again"
        case .unresolved(let lock, let entries):
            let first = entries[0]
            return "\(lock): \(entries.count) unresolved pin(s), first \(first.reference) (\(first.reason)); run `airgap lock` on a connected host"
        case .moved(let reference, let from, let to):
            return "\(reference) moved from \(from) to \(to); run `airgap lock` to accept"
        case .missing(let lock, let reference):
            return "\(lock) has no pin for \(reference); run `airgap lock`"
        case .signaturesNotLocked(let lock, let reference):
            return "\(lock) was written without signatures for \(reference), but its verify key needs them carried; run `airgap lock`"
        }
    }
}

/// Reading, writing and checking `bundle.lock`.
public enum LockfileStore {
    /// `bundle.lock` beside the spec, unless `--lock` says otherwise.
    public static func defaultPath(forSpec spec: String) -> String {
        URL(fileURLWithPath: spec).deletingLastPathComponent().appendingPathComponent("bundle.lock").path
    }

    /// The lock and its bytes as stored, or nil when there is no file.
    public static func load(_ path: String) throws -> (Lockfile, Data)? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        let lock = try Lockfile.decode(data, path: path)
        guard lock.lockVersion <= Lockfile.currentVersion else { throw LockError.unknownVersion(path: path, version: lock.lockVersion) }
        return (lock, data)
    }

    /// Written whole or not at all.
    @discardableResult
    public static func write(_ lock: Lockfile, to path: String) throws -> Data {
        let data = try lock.encoded()
        try AtomicFile.write(data, to: path)
        return data
    }

    /// Refuses a lock that no longer describes the spec, or that still has unresolved pins.
    public static func checkUsable(_ lock: Lockfile, for spec: BundleSpec, specPath: String, lockPath: String) throws {
        guard lock.specDigest == spec.canonicalDigest.description else { throw LockError.specChanged(spec: specPath, lock: lockPath) }
        let unresolved = lock.unresolved
        guard unresolved.isEmpty else { throw LockError.unresolved(lock: lockPath, entries: unresolved) }
    }

    /// Signatures come and go upstream (an image re-signed, an attestation added): pack carries
    /// exactly what the lock pins, or refuses.
    static func checkSignatures(_ pin: LockedImage, against image: LockedImage, lockPath: String) throws {
        switch (pin.signatures, image.signatures) {
        case (nil, nil):
            return
        case (.some(let locked), nil):
            guard locked.isEmpty else { throw SignatureError.signaturesSkipped(lock: lockPath, count: locked.count) }
        case (nil, .some):
            throw LockError.signaturesNotLocked(lock: lockPath, reference: image.reference)
        case (.some(let locked), .some(let now)):
            let lockedByReference = Dictionary(locked.map { ($0.reference, $0.bundled.digest) }, uniquingKeysWith: { first, _ in first })
            let nowByReference = Dictionary(now.map { ($0.reference, $0.bundled.digest) }, uniquingKeysWith: { first, _ in first })
            for (reference, digest) in nowByReference.sorted(by: { $0.key < $1.key }) where lockedByReference[reference] != digest {
                throw LockError.moved(reference: reference, from: lockedByReference[reference]?.description ?? "nothing", to: digest.description)
            }
            for (reference, digest) in lockedByReference.sorted(by: { $0.key < $1.key }) where nowByReference[reference] == nil {
                throw LockError.moved(reference: reference, from: digest.description, to: "nothing (gone upstream)")
            }
        }
    }

    /// Compares what upstream serves now (`current`) with the pins; the first difference is
    /// thrown, naming both digests.
    public static func checkPins(_ locked: Lockfile, against current: Lockfile, lockPath: String) throws {
        let lockedImages = Dictionary(locked.images.map { ($0.reference, $0) }, uniquingKeysWith: { first, _ in first })
        for image in current.images {
            guard let pin = lockedImages[image.reference] else { throw LockError.missing(lock: lockPath, reference: image.reference) }
            if let was = pin.upstream?.digest, let now = image.upstream?.digest, was != now {
                throw LockError.moved(reference: image.reference, from: was.description, to: now.description)
            }
            if let was = pin.bundled?.digest, let now = image.bundled?.digest, was != now {
                throw LockError.moved(reference: image.reference, from: was.description, to: now.description)
            }
            try checkSignatures(pin, against: image, lockPath: lockPath)
        }
        let lockedJars = Dictionary(locked.jars.map { ($0.coordinates, $0) }, uniquingKeysWith: { first, _ in first })
        for jar in current.jars {
            guard let pin = lockedJars[jar.coordinates] else { throw LockError.missing(lock: lockPath, reference: jar.coordinates.description) }
            if let was = pin.sha256, let now = jar.sha256, was != now {
                throw MavenError.lockMismatch(jar.coordinates, locked: was.description, actual: now.description)
            }
        }
        let lockedCharts = Dictionary(locked.charts.map { ($0.source, $0) }, uniquingKeysWith: { first, _ in first })
        for chart in current.charts {
            guard let pin = lockedCharts[chart.source] else { throw LockError.missing(lock: lockPath, reference: chart.source) }
            if let was = pin.digest, let now = chart.digest, was != now {
                throw ChartError.lockMismatch(reference: "\(chart.reference) (\(chart.source))", locked: was.description, actual: now.description)
            }
        }
    }
}
