import Foundation
import Manifests
import OCILayout

/// One `index.json` entry of a bundle as read from it: what it points at and what it reaches.
public struct BundleItem: Sendable {
    public var kind: BundleEntry.Kind
    /// The entry's `org.opencontainers.image.ref.name`.
    public var reference: String
    /// The `index.json` descriptor (digest, size, media type), annotations dropped.
    public var descriptor: Descriptor
    /// The platform manifests it carries: the descriptor itself for a single manifest, the
    /// index's manifest descriptors (with their platforms) for an index.
    public var platformManifests: [Descriptor]
    /// Platforms of the manifests carried (`unspecified` where the index names none).
    public var platforms: [String]
    /// Every distinct blob the entry reaches, manifests included.
    public var blobs: Set<Digest>
    public var bytes: Int64
}

/// A bundle opened once: the file, one pass over its tar (every blob's size and data offset by
/// digest, the documents in memory, each checked against its digest), the graph from
/// `index.json`, and the lock it carries, decoded once. Verify, inspect, push, audit and extract
/// all work from this; nothing reopens the tarball or parses its headers again.
public final class BundleReader: @unchecked Sendable {
    public let path: String
    /// The open tarball, or its parts read as one; blobs are read from it in place
    /// (`source(for:)`).
    public let file: PartedFile
    public let snapshot: LayoutSnapshot
    public let items: [BundleItem]
    /// `airgap/bundle.lock` as carried, and decoded.
    public let lockData: Data?
    public let lock: Lockfile?
    /// False after a quick look (large blobs not hashed) until `verifyRemainingBlobs` ran.
    public private(set) var thorough: Bool
    /// `match` when `<bundle>.sha256` was there and agreed, `absent` when there was none,
    /// `unchecked` when it was not read (a quick look).
    public let checksumFile: String
    /// Where the blobs' hashes run: hashing is CPU-bound, so as wide as the cores.
    let workers: WorkerPool

    init(path: String, file: PartedFile, snapshot: LayoutSnapshot, items: [BundleItem], lockData: Data?, lock: Lockfile?,
         thorough: Bool, checksumFile: String, workers: WorkerPool) {
        self.path = path
        self.file = file
        self.snapshot = snapshot
        self.items = items
        self.lockData = lockData
        self.lock = lock
        self.thorough = thorough
        self.checksumFile = checksumFile
        self.workers = workers
    }

    /// Opens and reads the bundle. With `thorough` false, blobs over `LayoutScanner.documentLimit`
    /// are not hashed (call `verifyRemainingBlobs` before trusting their bytes) and the checksum
    /// file is not read. The first defect is thrown as a `LayoutDefect`.
    public static func open(_ path: String, thorough: Bool = true, checkingChecksumFile: Bool = true,
                            progress: TransferProgress) async throws -> BundleReader {
        let checking = thorough && checkingChecksumFile
        // A quick look still reads the checksum file's names, to check a split set is whole.
        let checksumLines: [(name: String, digest: Digest)]?
        do { checksumLines = try BundleChecksum.lines(for: path) } catch where !checking { checksumLines = nil }
        let file = try BundleParts.open(path, checksumLines: checksumLines)
        let split = file.parts.count > 1 || file.parts[0].path != path
        let expectedChecksum = checking && !split ? try BundleChecksum.read(for: path) : nil
        let hashParts = checking && split && checksumLines != nil
        progress.begin(thorough ? "verify" : "read", bytes: file.totalSize, subject: URL(fileURLWithPath: path).lastPathComponent)
        // The whole-file (or per-part) hash rides along the same read, on another core.
        let workers = WorkerPool(width: ProcessInfo.processInfo.activeProcessorCount)
        let snapshot: LayoutSnapshot
        do {
            snapshot = try await workers.run {
                try LayoutScanner.scan(file, hashingWholeFile: expectedChecksum != nil || hashParts, hashingLargeBlobs: thorough, progress: progress.advance)
            }
        } catch let defect as LayoutDefect where split && checksumLines != nil {
            throw BundleParts.findDamagedPart(file, checksumLines: checksumLines!) ?? defect
        }
        var checksumFile = checking ? "absent" : "unchecked"
        if let expectedChecksum {
            guard let actual = snapshot.archiveDigest, actual == expectedChecksum else {
                throw LayoutDefect(entry: path, problem: "SHA-256 is \(snapshot.archiveDigest?.description ?? "?"), but \(BundleChecksum.path(for: path)) records \(expectedChecksum); the tarball was altered after packing")
            }
            checksumFile = "match"
        }
        if hashParts, let checksumLines {
            try BundleParts.checkDigests(file, actual: snapshot.partDigests ?? [], checksumLines: checksumLines)
            checksumFile = "match, \(file.parts.count) parts"
        }
        let items = try BundleGraph.walk(snapshot)
        var lock: Lockfile?
        if let data = snapshot.lockFile {
            do { lock = try Lockfile.decode(data, path: LayoutPath.lockFileName) } catch {
                throw LayoutDefect(entry: LayoutPath.lockFileName, problem: "\(error)")
            }
        }
        return BundleReader(path: path, file: file, snapshot: snapshot, items: items, lockData: snapshot.lockFile, lock: lock,
                            thorough: thorough, checksumFile: checksumFile, workers: workers)
    }

    /// Whether there is a bundle by this name: the tarball, or its first part.
    public static func exists(_ path: String) -> Bool {
        FileManager.default.fileExists(atPath: path) || FileManager.default.fileExists(atPath: PartNames.path(for: path, number: 1))
    }

    public var documents: [Digest: Data] { snapshot.documents }

    /// Where `descriptor`'s bytes are in the tarball, to be read in place. The size must be the
    /// blob's own: a descriptor that claims another size is refused, not read short or long.
    public func source(for descriptor: Descriptor) throws -> BlobSource {
        guard let offset = snapshot.dataOffsets[descriptor.digest], let size = snapshot.blobSizes[descriptor.digest] else {
            throw LayoutDefect(entry: LayoutPath.blobName(descriptor.digest), problem: "is not in \(path)")
        }
        guard size == descriptor.size else {
            throw LayoutDefect(entry: LayoutPath.blobName(descriptor.digest), problem: "is \(size) bytes, but \(descriptor.size) were asked for")
        }
        return BlobSource(file: file, offset: offset, descriptor: descriptor)
    }

    /// After a quick look: hashes every blob the scan skipped, in place, on all cores. Throws the
    /// first (in tar order) that does not match its name.
    public func verifyRemainingBlobs(progress: TransferProgress) async throws {
        guard !thorough else { return }
        let large = snapshot.blobSizes.compactMap { digest, size -> InPlaceBlobCheck.Blob? in
            guard size > LayoutScanner.documentLimit, let offset = snapshot.dataOffsets[digest] else { return nil }
            return InPlaceBlobCheck.Blob(digest: digest, dataOffset: offset, size: size)
        }
        progress.begin("verify", bytes: large.reduce(0) { $0 + $1.size }, subject: URL(fileURLWithPath: path).lastPathComponent)
        let file = self.file
        // Every blob is checked (no early stop), so the defect named is the first in tar order
        // whichever worker finished first.
        let defects = try await workers.map(InPlaceBlobCheck.schedule(large)) { blob, _ in
            InPlaceBlobCheck.defect(in: file, blob: blob, progress: progress.advance).map { (blob.dataOffset, $0) }
        }
        if let first = defects.compactMap({ $0 }).min(by: { $0.0 < $1.0 }) { throw first.1 }
        thorough = true
    }

    /// The item `index.json` names `reference`, if any.
    public func item(named reference: String) -> BundleItem? {
        items.first { $0.reference == reference }
    }

    /// A JAR entry's one layer: the JAR's bytes and, as its title, its file name.
    public func jarLayer(of item: BundleItem) -> Descriptor? {
        guard item.kind == .jar, case .manifest(let manifest)? = document(item.descriptor), manifest.layers.count == 1 else { return nil }
        return manifest.layers[0]
    }

    /// The parsed manifest or index behind a descriptor, when the bundle holds it.
    public func document(_ descriptor: Descriptor) -> ManifestDocument? {
        guard let data = snapshot.documents[descriptor.digest] else { return nil }
        return try? ManifestDocument(decoding: data, mediaType: descriptor.mediaType)
    }
}

/// Walks the graph from `index.json` over a scanned bundle: every descriptor points at a blob
/// that is present and of its size, every manifest says the media type its descriptor says,
/// and nothing is left unreferenced.
enum BundleGraph {
    static func walk(_ snapshot: LayoutSnapshot) throws -> [BundleItem] {
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
        var items: [BundleItem] = []
        var names = Set<String>()
        for (position, entry) in index.manifests.enumerated() {
            let name = entry.annotations?[AnnotationKey.refName] ?? "#\(position)"
            guard names.insert(name).inserted else {
                throw LayoutDefect(entry: LayoutPath.indexFileName, problem: "names \(name) twice")
            }
            guard MediaType.isIndex(entry.mediaType) || MediaType.isManifest(entry.mediaType) else {
                throw LayoutDefect(entry: LayoutPath.indexFileName, problem: "\(name) has media type \(entry.mediaType), not a manifest or index")
            }
            var blobs = Set<Digest>()
            var platforms: [String] = []
            try visit(entry, from: "\(LayoutPath.indexFileName) → \(name)", depth: 1, snapshot: snapshot, blobs: &blobs, platforms: &platforms)
            reached.formUnion(blobs)
            var descriptor = entry
            descriptor.annotations = nil
            items.append(BundleItem(
                kind: kind(of: entry, named: name, snapshot: snapshot), reference: name, descriptor: descriptor,
                platformManifests: platformManifests(of: entry, snapshot: snapshot), platforms: platforms, blobs: blobs,
                bytes: blobs.reduce(0) { $0 + (snapshot.blobSizes[$1] ?? 0) }))
        }
        if let stray = snapshot.blobSizes.keys.filter({ !reached.contains($0) }).min() {
            throw LayoutDefect(entry: LayoutPath.blobName(stray), problem: "is not referenced from index.json; a bundle carries nothing unaccounted for")
        }
        return items
    }

    /// A signature (named by cosign's or the referrers tag), a JAR (its artifact type), a chart
    /// (Helm's config type) or an image.
    private static func kind(of descriptor: Descriptor, named name: String, snapshot: LayoutSnapshot) -> BundleEntry.Kind {
        if let tag = (try? Reference(parsing: name))?.tag, Cosign.parseTag(tag) != nil { return .signature }
        guard MediaType.isManifest(descriptor.mediaType), let data = snapshot.documents[descriptor.digest],
              case .manifest(let manifest)? = try? ManifestDocument(decoding: data, mediaType: descriptor.mediaType)
        else { return .image }
        if manifest.artifactType == ArtifactManifests.jarMediaType { return .jar }
        if manifest.config.mediaType == MediaType.helmConfig { return .chart }
        return .image
    }

    private static func platformManifests(of descriptor: Descriptor, snapshot: LayoutSnapshot) -> [Descriptor] {
        guard MediaType.isIndex(descriptor.mediaType) else {
            var single = descriptor
            single.annotations = nil
            return [single]
        }
        guard let data = snapshot.documents[descriptor.digest],
              case .index(let index)? = try? ManifestDocument(decoding: data, mediaType: descriptor.mediaType) else { return [] }
        // A nested index (carried whole with `platforms: all`) contributes its own manifests, as
        // the lock lists them. The graph walk has bounded the nesting already.
        return index.manifests.flatMap { child -> [Descriptor] in
            if MediaType.isManifest(child.mediaType) { return [child] }
            return MediaType.isIndex(child.mediaType) ? platformManifests(of: child, snapshot: snapshot) : []
        }
    }

    private static func visit(
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
        switch document {
        case .index(let index):
            for child in index.manifests { try visit(child, from: blobName, depth: depth + 1, snapshot: snapshot, blobs: &blobs, platforms: &platforms) }
        case .manifest(let manifest):
            for child in manifest.blobs { try visit(child, from: blobName, depth: depth + 1, snapshot: snapshot, blobs: &blobs, platforms: &platforms) }
        }
    }
}
