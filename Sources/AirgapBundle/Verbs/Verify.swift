import Foundation
import Manifests
import OCILayout

/// What `verify` reports about a bundle it accepted: output only. Push, audit and extract work
/// from the `BundleReader`, never from this.
public struct VerifiedBundle: Codable, Sendable {
    public var bundle: String
    public var entries: [EntryReport]
    public var blobs: Int
    public var bytes: Int64
    /// `match` when `<bundle>.sha256` exists and agrees, `absent` when there is none.
    public var checksumFile: String
    /// What the bundle was checked against: `airgap/bundle.lock` inside it, and `--lock`.
    public var lockChecked: [String]
    /// `airgap/bundle.lock.sig`: `verified with KEY (sha256:…)`, `present, not checked` (no
    /// `--key`), or `absent`.
    public var bundleSignature: String
    /// `airgap/sbom.cdx.json`: `matches the lock` or `absent`.
    public var sbom: String

    public init(_ reader: BundleReader, lockChecked: [String], key: VerificationKey? = nil) {
        bundle = reader.path
        entries = reader.items.map(EntryReport.init)
        blobs = reader.snapshot.blobSizes.count
        bytes = reader.snapshot.totalBytes
        checksumFile = reader.checksumFile
        self.lockChecked = lockChecked
        bundleSignature = reader.snapshot.lockSignature == nil ? "absent" : key.map { "verified with \($0.label)" } ?? "present, not checked (pass --key)"
        sbom = reader.snapshot.sbom == nil ? "absent" : "matches the lock"
    }
}

/// `airgap verify`: reads the tarball once, front to back, with no extraction, and proves that
/// every blob hashes to its name, that every descriptor's size and digest match the blob it
/// points at, that everything `index.json` reaches is present and nothing else is, that the tar
/// ends where it should, that the tarball matches `<bundle>.sha256` when that file is there, and
/// that the bundle agrees with the lock inside it, field by field (and with `--lock`, which must
/// also equal the lock inside). The first defect is thrown as a `LayoutDefect` naming the entry.
public struct BundleVerifier: Sendable {
    public var progress: TransferProgress

    public init(progress: TransferProgress) {
        self.progress = progress
    }

    /// Opens the bundle and checks it and its locks; what push, audit and extract build on.
    /// With `thorough` false, large blobs are not hashed yet (`BundleReader.verifyRemainingBlobs`).
    /// With `key`, the bundle must carry a signature over its lock that the key verifies.
    public func open(_ path: String, lock external: (lock: Lockfile, path: String)? = nil, thorough: Bool = true,
                     checkingChecksumFile: Bool = true, key: VerificationKey? = nil) async throws -> (BundleReader, lockChecked: [String]) {
        let reader = try await BundleReader.open(path, thorough: thorough, checkingChecksumFile: checkingChecksumFile, progress: progress)
        if let key { try BundleSignature.verify(reader, with: key) }
        let checked = try Self.checkLocks(reader, external: external)
        try Self.checkSBOM(reader)
        return (reader, checked)
    }

    public func verify(_ path: String, lock external: (lock: Lockfile, path: String)? = nil, thorough: Bool = true,
                       checkingChecksumFile: Bool = true, key: VerificationKey? = nil) async throws -> VerifiedBundle {
        let (reader, checked) = try await open(path, lock: external, thorough: thorough, checkingChecksumFile: checkingChecksumFile, key: key)
        return VerifiedBundle(reader, lockChecked: checked, key: key)
    }

    /// The SBOM a bundle carries must be the one its lock makes, byte for byte: then the lock's
    /// signature covers it too.
    static func checkSBOM(_ reader: BundleReader) throws {
        guard let sbom = reader.snapshot.sbom else { return }
        guard let lock = reader.lock, let lockData = reader.lockData else {
            throw LayoutDefect(entry: LayoutPath.sbomName, problem: "present without airgap/bundle.lock to describe; the bundle was altered")
        }
        let expected = try CycloneDX.document(for: lock, lockData: lockData)
        guard sbom == expected else {
            throw LayoutDefect(entry: LayoutPath.sbomName, problem: "does not describe airgap/bundle.lock as it is (\(sbom.count) bytes, the lock makes \(expected.count)); the bundle was altered after packing")
        }
    }

    /// Every difference between the bundle and its locks, in the order verify reports them:
    /// the lock inside against the bundle, `--lock` against the bundle, then `--lock` against
    /// the lock inside, field by field (what the bundle itself cannot tell: the spec digest, a
    /// chart's source, an upstream index's size).
    public static func lockDifferences(_ reader: BundleReader, external: (lock: Lockfile, path: String)?) -> [LockDifference] {
        var differences: [LockDifference] = []
        let inside = "\(LayoutPath.lockFileName) (inside the bundle)"
        if let embedded = reader.lock {
            differences += LockComparison.compare(embedded, named: inside, with: reader)
        }
        if let external {
            differences += LockComparison.compare(external.lock, named: external.path, with: reader)
            if let embedded = reader.lock {
                differences += LockComparison.compare(external.lock, named: external.path, with: embedded, named: inside)
            }
        }
        return differences
    }

    /// Throws the first difference; returns the names of the locks checked.
    static func checkLocks(_ reader: BundleReader, external: (lock: Lockfile, path: String)?) throws -> [String] {
        if let first = lockDifferences(reader, external: external).first { throw first.defect }
        return (reader.lock == nil ? [] : [LayoutPath.lockFileName]) + (external.map { [$0.path] } ?? [])
    }
}
