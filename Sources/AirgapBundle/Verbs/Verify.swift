import Foundation
import Manifests
import OCILayout

/// One `index.json` entry of a verified bundle, with what it reaches.
public struct VerifiedEntry: Codable, Sendable {
    public var kind: BundleEntry.Kind
    public var reference: String
    public var mediaType: String
    public var digest: String
    /// Platforms of the manifests carried (`unspecified` where the index names none).
    public var platforms: [String]
    /// Bytes of every distinct blob the entry reaches, manifests included.
    public var bytes: Int64
    public var blobs: Int
}

/// A bundle `verify` accepted: its entries and the evidence.
public struct VerifiedBundle: Encodable, Sendable {
    public var bundle: String
    public var entries: [VerifiedEntry]
    public var blobs: Int
    public var bytes: Int64
    /// `match` when `<bundle>.sha256` exists and agrees, `absent` when there is none.
    public var checksumFile: String
    /// Where each blob's tar header starts: what a later reader seeks to.
    public var blobOffsets: [String: Int64]
    /// The lockfile carried in the bundle, if any.
    public var lockFile: Data?
    /// What the bundle was checked against: `airgap/bundle.lock` inside it, and `--lock`.
    public var lockChecked: [String] = []
    /// False after a quick look: every document was hashed, but large blobs were not read.
    public var thorough = true
    /// The manifests, indexes and configs, by digest (each checked against its digest).
    public var documents: [Digest: Data] = [:]
    /// Every blob's size (from its tar header, and after a thorough pass from its bytes).
    public var blobSizes: [Digest: Int64] = [:]

    enum CodingKeys: String, CodingKey { case bundle, entries, blobs, bytes, checksumFile, lockChecked }
}

extension VerifiedBundle {
    /// Where `descriptor`'s bytes are in the tarball open as `file`, to be read in place.
    public func blobSource(_ descriptor: Descriptor, in file: FileDescriptor) throws -> BlobSource {
        guard let headerOffset = blobOffsets[descriptor.digest.description] else { throw LayoutError.missingBlob(descriptor.digest.description) }
        let offset = try TarEntryLocator.dataOffset(in: file, headerOffset: headerOffset, expectedSize: descriptor.size)
        return BlobSource(file: file, offset: offset, descriptor: descriptor)
    }
}

/// `airgap verify`: reads the tarball once, front to back, with no extraction, and proves that
/// every blob hashes to its name, that every descriptor's size and digest match the blob it
/// points at, that everything `index.json` reaches is present and nothing else is, and that the
/// tarball matches `<bundle>.sha256` when that file is there, and that `index.json` names
/// exactly the entries, at exactly the digests, that the lock inside the bundle pins (and the
/// lock given with `--lock`). The first defect is thrown as a `LayoutDefect` naming the entry.
public struct BundleVerifier: Sendable {
    public var progress: TransferProgress

    public init(progress: TransferProgress) {
        self.progress = progress
    }

    /// With `thorough` false, large blobs are not read (see `LayoutScanner`): the graph, the
    /// documents and the locks are checked, the layer bytes are not. With `checkingChecksumFile`
    /// false, `<bundle>.sha256` is left alone: every blob is still hashed, and the lock inside
    /// covers `index.json`.
    public func verify(_ path: String, lock external: (lock: Lockfile, path: String)? = nil, thorough: Bool = true,
                       checkingChecksumFile: Bool = true) async throws -> VerifiedBundle {
        guard FileManager.default.fileExists(atPath: path) else {
            throw LayoutDefect(entry: path, problem: "no such file")
        }
        let expectedChecksum = thorough && checkingChecksumFile ? try BundleChecksum.read(for: path) : nil
        progress.setTotal(FileDescriptor.size(atPath: path) ?? 0)
        let progress = self.progress
        // The whole-file hash rides along the same read, on another core.
        let snapshot = try await offload {
            try LayoutScanner.scan(path, hashingWholeFile: expectedChecksum != nil, hashingLargeBlobs: thorough, progress: progress.advance)
        }
        progress.finish()
        var verified = try Self.checkGraph(snapshot, bundle: path)
        verified.thorough = thorough
        verified.documents = snapshot.documents
        verified.blobSizes = snapshot.blobSizes
        if let expectedChecksum {
            let actual = snapshot.archiveDigest
            guard actual == expectedChecksum else {
                throw LayoutDefect(entry: path, problem: "SHA-256 is \(actual?.description ?? "?"), but \(BundleChecksum.path(for: path)) records \(expectedChecksum); the tarball was altered after packing")
            }
            verified.checksumFile = "match"
        }
        if let embedded = verified.lockFile {
            let lock: Lockfile
            do { lock = try Lockfile.decode(embedded, path: LayoutPath.lockFileName) } catch {
                throw LayoutDefect(entry: LayoutPath.lockFileName, problem: "\(error)")
            }
            try Self.check(verified.entries, against: lock, named: "\(LayoutPath.lockFileName) (inside the bundle)")
            verified.lockChecked.append(LayoutPath.lockFileName)
        }
        if let external {
            try Self.check(verified.entries, against: external.lock, named: external.path)
            verified.lockChecked.append(external.path)
        }
        return verified
    }

    /// The bundle holds exactly what the lock pins: the same references at the same digests.
    static func check(_ entries: [VerifiedEntry], against lock: Lockfile, named lockName: String) throws {
        let held = Dictionary(entries.map { ($0.reference, $0.digest) }, uniquingKeysWith: { first, _ in first })
        for (reference, pin) in lock.bundleEntries.sorted(by: { $0.key < $1.key }) {
            guard let pin else { throw LayoutDefect(entry: lockName, problem: "\(reference) is unresolved in the lock; run `airgap lock`") }
            guard let digest = held[reference] else {
                throw LayoutDefect(entry: LayoutPath.indexFileName, problem: "has no \(reference), which \(lockName) pins at \(pin.digest)")
            }
            guard digest == pin.digest.description else {
                throw LayoutDefect(entry: LayoutPath.indexFileName, problem: "\(reference) is \(digest), but \(lockName) pins \(pin.digest)")
            }
        }
        if let extra = held.keys.sorted().first(where: { lock.bundleEntries[$0] == nil }) {
            throw LayoutDefect(entry: LayoutPath.indexFileName, problem: "holds \(extra), which \(lockName) does not pin")
        }
    }

    /// Walks the graph from `index.json` over the scanned blobs.
    static func checkGraph(_ snapshot: LayoutSnapshot, bundle: String) throws -> VerifiedBundle {
        guard let layoutFile = snapshot.layoutFile else {
            throw LayoutDefect(entry: LayoutPath.layoutFileName, problem: "missing; this is not an OCI image layout")
        }
        struct LayoutHeader: Decodable { var imageLayoutVersion: String }
        guard let header = try? JSONDecoder().decode(LayoutHeader.self, from: layoutFile), header.imageLayoutVersion == "1.0.0" else {
            throw LayoutDefect(entry: LayoutPath.layoutFileName, problem: "is not {\"imageLayoutVersion\": \"1.0.0\"}")
        }
        guard let indexFile = snapshot.indexFile else {
            throw LayoutDefect(entry: LayoutPath.indexFileName, problem: "missing; this is not an OCI image layout")
        }
        let index: ImageIndex
        do {
            guard case .index(let parsed) = try ManifestDocument(decoding: indexFile, mediaType: MediaType.ociIndex) else {
                throw ManifestError.malformedDocument("not an index")
            }
            index = parsed
        } catch {
            throw LayoutDefect(entry: LayoutPath.indexFileName, problem: "\(error)")
        }

        var reached = Set<Digest>()
        var entries: [VerifiedEntry] = []
        var names = Set<String>()
        for (position, entry) in index.manifests.enumerated() {
            let name = entry.annotations?[AnnotationKey.refName] ?? "#\(position)"
            guard names.insert(name).inserted else {
                throw LayoutDefect(entry: LayoutPath.indexFileName, problem: "names \(name) twice")
            }
            guard MediaType.isIndex(entry.mediaType) || MediaType.isManifest(entry.mediaType) else {
                throw LayoutDefect(entry: LayoutPath.indexFileName, problem: "\(name) has media type \(entry.mediaType), not a manifest or index")
            }
            var imageBlobs = Set<Digest>()
            var platforms: [String] = []
            try walk(entry, from: "\(LayoutPath.indexFileName) → \(name)", depth: 1, snapshot: snapshot, blobs: &imageBlobs, platforms: &platforms)
            reached.formUnion(imageBlobs)
            entries.append(VerifiedEntry(
                kind: kind(of: entry, snapshot: snapshot), reference: name, mediaType: entry.mediaType, digest: entry.digest.description,
                platforms: platforms, bytes: imageBlobs.reduce(0) { $0 + (snapshot.blobSizes[$1] ?? 0) }, blobs: imageBlobs.count))
        }
        if let stray = snapshot.blobSizes.keys.filter({ !reached.contains($0) }).min() {
            throw LayoutDefect(entry: LayoutPath.blobName(stray), problem: "is not referenced from index.json; a bundle carries nothing unaccounted for")
        }
        return VerifiedBundle(
            bundle: bundle, entries: entries, blobs: snapshot.blobSizes.count, bytes: snapshot.totalBytes, checksumFile: "absent",
            blobOffsets: Dictionary(uniqueKeysWithValues: snapshot.blobOffsets.map { ($0.key.description, $0.value) }),
            lockFile: snapshot.lockFile)
    }

    /// A JAR (its artifact type), a chart (Helm's config type) or an image.
    private static func kind(of descriptor: Descriptor, snapshot: LayoutSnapshot) -> BundleEntry.Kind {
        guard MediaType.isManifest(descriptor.mediaType), let data = snapshot.documents[descriptor.digest],
              case .manifest(let manifest)? = try? ManifestDocument(decoding: data, mediaType: descriptor.mediaType)
        else { return .image }
        if manifest.artifactType == ArtifactManifests.jarMediaType { return .jar }
        if manifest.config.mediaType == MediaType.helmConfig { return .chart }
        return .image
    }

    private static func walk(
        _ descriptor: Descriptor, from parent: String, depth: Int, snapshot: LayoutSnapshot, blobs: inout Set<Digest>, platforms: inout [String]
    ) throws {
        let blobName = LayoutPath.blobName(descriptor.digest)
        guard let size = snapshot.blobSizes[descriptor.digest] else {
            throw LayoutDefect(entry: blobName, problem: "missing, but \(parent) points at it")
        }
        guard size == descriptor.size else {
            throw LayoutDefect(entry: blobName, problem: "is \(size) bytes, but \(parent) says \(descriptor.size)")
        }
        let isIndex = MediaType.isIndex(descriptor.mediaType)
        let isManifest = MediaType.isManifest(descriptor.mediaType)
        if isManifest, !platforms.contains(descriptor.platform?.description ?? "unspecified") {
            platforms.append(descriptor.platform?.description ?? "unspecified")
        }
        let firstVisit = blobs.insert(descriptor.digest).inserted
        guard firstVisit, isIndex || isManifest else { return }
        guard let data = snapshot.documents[descriptor.digest] else {
            throw LayoutDefect(entry: blobName, problem: "should be a manifest (\(descriptor.mediaType)) but is not a JSON document")
        }
        if depth > ImageIndex.maximumNesting {
            throw LayoutDefect(entry: blobName, problem: "nests image indexes more than \(ImageIndex.maximumNesting) deep; no real image needs that, refusing it")
        }
        let document: ManifestDocument
        do { document = try ManifestDocument(decoding: data, mediaType: descriptor.mediaType) } catch {
            throw LayoutDefect(entry: blobName, problem: "\(error)")
        }
        let declared: String?
        switch document {
        case .index(let index): declared = index.mediaType
        case .manifest(let manifest): declared = manifest.mediaType
        }
        if let declared, declared != descriptor.mediaType {
            throw LayoutDefect(entry: blobName, problem: "declares media type \(declared), but \(parent) says \(descriptor.mediaType)")
        }
        let here = "\(blobName)"
        switch document {
        case .index(let index):
            for child in index.manifests { try walk(child, from: here, depth: depth + 1, snapshot: snapshot, blobs: &blobs, platforms: &platforms) }
        case .manifest(let manifest):
            for child in manifest.blobs { try walk(child, from: here, depth: depth + 1, snapshot: snapshot, blobs: &blobs, platforms: &platforms) }
        }
    }
}
