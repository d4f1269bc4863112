import Foundation
import Manifests
import OCILayout

/// Where `airgap push` puts things, and how.
public struct PushOptions: Sendable {
    /// `HOST[:PORT]` of the internal registry.
    public var registry: String
    /// Path prepended to every repository (`apps/flink`), or empty.
    public var prefix: String
    /// One path component under the prefix (`library/flink` → `library-flink`), for registries
    /// that accept only `<project>/<name>`, like OpenShift's.
    public var flatten: Bool
    public var jobs: Int
    /// Blobs above this size are sent in PATCH chunks of it.
    public var chunkSize: Int64 = RegistryClient.defaultChunkSize
    /// Print the plan and write nothing.
    public var dryRun: Bool
    /// Chart directory whose `files/libs/` gets the locked JARs and which gets `values-airgap.yaml`.
    public var chartDirectory: String?
    /// Remove JARs from `files/libs/` that the lock does not name.
    public var prune: Bool
    /// Where to write `ImageDigestMirrorSet` / `ImageTagMirrorSet` YAML.
    public var openshiftManifests: String?

    public init(registry: String, prefix: String = "", flatten: Bool = false, jobs: Int = 3, dryRun: Bool = false,
                chartDirectory: String? = nil, prune: Bool = false, openshiftManifests: String? = nil) {
        self.registry = registry
        self.prefix = prefix.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        self.flatten = flatten
        self.jobs = jobs
        self.dryRun = dryRun
        self.chartDirectory = chartDirectory
        self.prune = prune
        self.openshiftManifests = openshiftManifests
    }

    /// The path under the prefix: `library/flink`, or `library-flink` flattened.
    public func path(for sourceRepository: String) -> String {
        flatten ? sourceRepository.replacingOccurrences(of: "/", with: "-") : sourceRepository
    }

    /// `docker.io/library/flink` → `PREFIX/library/flink` (or `PREFIX/library-flink` flattened).
    public func targetRepository(for sourceRepository: String) -> String {
        prefix.isEmpty ? path(for: sourceRepository) : "\(prefix)/\(path(for: sourceRepository))"
    }
}

/// What `airgap push` did (or, with `--dry-run`, would do).
public struct PushSummary: Codable, Sendable {
    public struct PushedEntry: Codable, Sendable {
        public var kind: BundleEntry.Kind
        public var source: String
        /// `HOST/repository:tag@digest` in the internal registry.
        public var target: String
        public var digest: String
    }

    public var registry: String
    public var dryRun: Bool
    /// `full` when every byte was verified before the first write; `graph` when nothing needed
    /// writing, so only the documents were checked.
    public var verification: String
    public var entries: [PushedEntry]
    public var blobsSent = 0
    public var blobsMounted = 0
    public var blobsSkipped = 0
    public var bytesSent: Int64 = 0
    public var manifestsPut = 0
    public var manifestsSkipped = 0
    /// JARs written to (or, dry, that would go to) `files/libs/`.
    public var jarsWritten: [String] = []
    /// JARs in `files/libs/` that the lock does not name.
    public var strayJars: [String] = []
    public var jarsPruned: [String] = []
    /// Files written beside the chart and for OpenShift.
    public var filesWritten: [String] = []
    /// One line per action, in order: the plan of a dry run.
    public var plan: [String] = []
}

public enum PushError: Error, CustomStringConvertible {
    case unlockedJar(String)
    case chartDirectory(String, String)

    public var description: String {
        switch self {
        case .unlockedJar(let reference):
            return "\(reference): the bundle's lock has no SHA-256 for this JAR; the bundle is not one airgap packed"
        case .chartDirectory(let path, let problem):
            return "\(path): \(problem)"
        }
    }
}

/// `airgap push`: the bundle into the internal registry with digests unchanged, the JARs into the
/// chart. Reads the tarball in place (no extraction, no copy). Nothing is written anywhere before
/// the whole bundle verified; a push that finds everything already there writes nothing, and so
/// reads only the bundle's documents.
public struct Pusher: Sendable {
    public var client: RegistryClient
    public var progress: TransferProgress
    public var log: @Sendable (String) -> Void

    public init(client: RegistryClient, progress: TransferProgress, log: @escaping @Sendable (String) -> Void = { _ in }) {
        self.client = client
        self.progress = progress
        self.log = log
    }

    /// A blob to put into a repository.
    struct BlobTask: Sendable {
        var descriptor: Descriptor
        var repositories: [String]
    }

    /// A manifest to put, by digest and then by tag.
    struct ManifestTask: Sendable {
        var repository: String
        var descriptor: Descriptor
        var data: Data
        var tag: String?
    }

    public func push(_ bundle: String, lock external: (lock: Lockfile, path: String)?, options: PushOptions) async throws -> PushSummary {
        // A quick look first: the graph and every document, checked against their digests. Its
        // large blobs are hashed below, before the first write.
        let layout = try await BundleVerifier(progress: TransferProgress(label: "read ", enabled: false)).verify(bundle, lock: external, thorough: false)
        let lock = try external?.lock ?? layout.lockFile.map { try Lockfile.decode($0, path: LayoutPath.lockFileName) }
        var summary = PushSummary(registry: options.registry, dryRun: options.dryRun, verification: "graph", entries: [])
        let (blobs, manifests) = try plan(layout, options: options, summary: &summary)

        // What the registry lacks (HEAD only: no write).
        let client = self.client
        var missingBlobs: [BlobTask] = []
        for task in blobs {
            let missing = try await offload { try task.repositories.filter { !(try client.blobExists(repository: $0, digest: task.descriptor.digest)) } }
            summary.blobsSkipped += task.repositories.count - missing.count
            if !missing.isEmpty {
                missingBlobs.append(BlobTask(descriptor: task.descriptor, repositories: missing))
                // Mount from a repository that already has it, when one does.
                if missing.count < task.repositories.count, let holder = task.repositories.first(where: { !missing.contains($0) }) {
                    missingBlobs[missingBlobs.count - 1].repositories.insert(holder, at: 0)
                }
            }
        }
        var missingManifests: [(ManifestTask, byDigest: Bool, byTag: Bool)] = []
        for task in manifests {
            let byDigest = try await offload { try client.manifestDigest(repository: task.repository, reference: task.descriptor.digest.description, mediaType: task.descriptor.mediaType) } == nil
            var byTag = false
            if let tag = task.tag {
                byTag = try await offload { try client.manifestDigest(repository: task.repository, reference: tag, mediaType: task.descriptor.mediaType) } != task.descriptor.digest
            }
            summary.manifestsSkipped += (byDigest ? 0 : 1) + (task.tag != nil && !byTag ? 1 : 0)
            if byDigest || byTag { missingManifests.append((task, byDigest, byTag)) }
        }
        let chartWork = try options.chartDirectory.map { try ChartDirectoryWriter(directory: $0, lock: lock, bundle: layout) }

        for task in missingBlobs {
            summary.plan.append("blob \(task.descriptor.digest) (\(ByteCount.format(task.descriptor.size))) -> \(task.repositories.joined(separator: ", "))")
        }
        for (task, byDigest, byTag) in missingManifests {
            if byDigest { summary.plan.append("manifest \(options.registry)/\(task.repository)@\(task.descriptor.digest)") }
            if byTag, let tag = task.tag { summary.plan.append("tag \(options.registry)/\(task.repository):\(tag) -> \(task.descriptor.digest.short)") }
        }
        if let chartWork { summary.plan += chartWork.plan(prune: options.prune) }

        let writes = !missingBlobs.isEmpty || !missingManifests.isEmpty || chartWork != nil || options.openshiftManifests != nil
        if options.dryRun || !writes {
            summary.strayJars = chartWork?.strays ?? []
            return summary
        }

        // Something will be written: every byte of the bundle must verify first. The quick look
        // checked every header, document and lock; the large blobs are now hashed in place, on
        // all cores. (The registry checks each digest again as the blob arrives, so the tarball's
        // checksum file adds nothing here.)
        let large = layout.blobSizes.compactMap { digest, size -> ParallelBlobCheck.Blob? in
            guard layout.documents[digest] == nil, let offset = layout.blobOffsets[digest.description] else { return nil }
            return ParallelBlobCheck.Blob(digest: digest, headerOffset: offset, size: size)
        }
        let verifyProgress = TransferProgress(label: "verify", total: large.reduce(0) { $0 + $1.size }, enabled: progress.isEnabled)
        try await offload { try ParallelBlobCheck.verify(bundle, blobs: large, progress: verifyProgress.advance) }
        verifyProgress.finish()
        summary.verification = "full"

        let file = try FileDescriptor.openForReading(bundle)
        var sources: [Digest: BlobSource] = [:]
        for task in missingBlobs {
            sources[task.descriptor.digest] = try layout.blobSource(task.descriptor, in: file)
        }
        progress.setTotal(missingBlobs.reduce(0) { $0 + $1.descriptor.size })
        let counter = PushCounter()
        let progress = self.progress
        let blobSources = sources
        try await forEachConcurrently(missingBlobs, width: options.jobs) { task, cancellation in
            let source = blobSources[task.descriptor.digest]!
            var holder: String?
            for repository in task.repositories {
                if holder == nil, try client.blobExists(repository: repository, digest: task.descriptor.digest) {
                    holder = repository
                    continue
                }
                let outcome = try client.pushBlob(source, repository: repository, mountFrom: holder, chunkSize: options.chunkSize) { bytes in
                    try cancellation.check()
                    progress.advance(bytes)
                }
                counter.count(outcome, bytes: outcome == .sent ? task.descriptor.size : 0)
                holder = holder ?? repository
            }
        }
        progress.finish()
        (summary.blobsSent, summary.blobsMounted, summary.bytesSent) = counter.totals

        for (task, byDigest, byTag) in missingManifests {
            if byDigest {
                try await offload { try client.putManifest(task.data, mediaType: task.descriptor.mediaType, repository: task.repository, reference: task.descriptor.digest.description) }
                summary.manifestsPut += 1
            }
            if byTag, let tag = task.tag {
                try await offload { try client.putManifest(task.data, mediaType: task.descriptor.mediaType, repository: task.repository, reference: tag) }
                summary.manifestsPut += 1
            }
        }

        if let chartWork {
            let libs = try await pushLibsImage(chartWork, bundle: layout, file: file, options: options, summary: &summary)
            let result = try chartWork.write(from: file, prune: options.prune, registry: options.registry,
                                             options: options, entries: summary.entries, libsImage: libs)
            summary.jarsWritten = result.written
            summary.strayJars = result.strays
            summary.jarsPruned = result.pruned
            summary.filesWritten += result.files
        }
        if let directory = options.openshiftManifests {
            summary.filesWritten += try OpenShiftMirrors.write(entries: summary.entries, options: options, to: directory)
        }
        return summary
    }

    /// Builds and pushes the chart's libs image (the Flink image plus the locked JARs under /libs,
    /// see `LibsImage`) and returns where it is, for values-airgap.yaml.
    func pushLibsImage(_ chart: ChartDirectoryWriter, bundle: VerifiedBundle, file: FileDescriptor, options: PushOptions,
                       summary: inout PushSummary) async throws -> PushedImage? {
        guard !chart.jars.isEmpty, let image = chart.chartImage(summary.entries),
              let entry = bundle.entries.first(where: { $0.reference == image.source }),
              let documentSize = bundle.documents[try Digest(parsing: entry.digest)]?.count
        else { return nil }
        let flink = try Reference(parsing: image.source)
        let jars = try chart.jars.map {
            ($0.fileName, try bundle.blobSource(Descriptor(mediaType: ArtifactManifests.jarMediaType, digest: $0.digest, size: $0.size), in: file))
        }
        let libs = try LibsImage(base: Descriptor(mediaType: entry.mediaType, digest: try Digest(parsing: entry.digest), size: Int64(documentSize)),
                                 documents: bundle.documents, jars: jars, temporaryDirectory: NSTemporaryDirectory())
        let repository = options.targetRepository(for: LibsImage.repositoryName)
        let flinkRepository = options.targetRepository(for: flink.repository)
        let client = self.client
        var seen = Set<Digest>()
        for base in libs.baseBlobs where seen.insert(base.digest).inserted {
            if try await offload({ try client.blobExists(repository: repository, digest: base.digest) }) { summary.blobsSkipped += 1; continue }
            let blob = try bundle.blobSource(base, in: file)
            let outcome = try await offload { try client.pushBlob(blob, repository: repository, mountFrom: flinkRepository) { _ in } }
            if outcome == .mounted { summary.blobsMounted += 1 } else { summary.blobsSent += 1; summary.bytesSent += base.size }
        }
        for digest in libs.blobs.keys.sorted() {
            guard let blob = libs.source(for: digest) else { continue }
            if try await offload({ try client.blobExists(repository: repository, digest: digest) }) { summary.blobsSkipped += 1; continue }
            _ = try await offload { try client.pushBlob(blob, repository: repository, mountFrom: nil) { _ in } }
            summary.blobsSent += 1
            summary.bytesSent += blob.descriptor.size
        }
        let tag = flink.tag ?? "latest"
        for (position, manifest) in libs.manifests.enumerated() {
            let references = [manifest.descriptor.digest.description] + (position == libs.manifests.count - 1 ? [tag] : [])
            for reference in references {
                let current = try await offload { try client.manifestDigest(repository: repository, reference: reference, mediaType: manifest.descriptor.mediaType) }
                if current == manifest.descriptor.digest { summary.manifestsSkipped += 1; continue }
                try await offload { try client.putManifest(manifest.data, mediaType: manifest.descriptor.mediaType, repository: repository, reference: reference) }
                summary.manifestsPut += 1
            }
        }
        let pushed = PushedImage(path: LibsImage.repositoryName, tag: tag, digest: libs.top.digest)
        summary.entries.append(PushSummary.PushedEntry(kind: .image, source: "libs image (\(flink.description) + connector JARs)",
                                                       target: "\(options.registry)/\(repository):\(tag)@\(libs.top.digest)", digest: libs.top.digest.description))
        return pushed
    }

    /// Which blobs go to which repositories, and the manifests in the order a registry accepts
    /// them: children before the index that names them, digests before tags.
    func plan(_ bundle: VerifiedBundle, options: PushOptions, summary: inout PushSummary) throws -> ([BlobTask], [ManifestTask]) {
        var blobRepositories: [Digest: (Descriptor, [String])] = [:]
        var manifests: [ManifestTask] = []
        for entry in bundle.entries {
            let reference = try Reference(parsing: entry.reference)
            let repository = options.targetRepository(for: reference.repository)
            let top = Descriptor(mediaType: entry.mediaType, digest: try Digest(parsing: entry.digest), size: 0)
            summary.entries.append(PushSummary.PushedEntry(
                kind: entry.kind, source: entry.reference,
                target: "\(options.registry)/\(repository)\(reference.tag.map { ":\($0)" } ?? "")@\(entry.digest)", digest: entry.digest))
            var seen = Set<Digest>()
            func visit(_ descriptor: Descriptor, tag: String?, depth: Int) throws {
                guard seen.insert(descriptor.digest).inserted else { return }
                guard MediaType.isIndex(descriptor.mediaType) || MediaType.isManifest(descriptor.mediaType) else {
                    var repositories = blobRepositories[descriptor.digest]?.1 ?? []
                    if !repositories.contains(repository) { repositories.append(repository) }
                    blobRepositories[descriptor.digest] = (descriptor, repositories)
                    return
                }
                guard let data = bundle.documents[descriptor.digest] else { throw LayoutError.missingBlob(descriptor.digest.description) }
                try ImageIndex.checkNesting(depth, at: descriptor.digest)
                let document = try ManifestDocument(decoding: data, mediaType: descriptor.mediaType)
                switch document {
                case .index(let index): for child in index.manifests { try visit(child, tag: nil, depth: depth + 1) }
                case .manifest(let manifest): for blob in manifest.blobs { try visit(blob, tag: nil, depth: depth + 1) }
                }
                var exact = descriptor
                exact.size = Int64(data.count)
                manifests.append(ManifestTask(repository: repository, descriptor: exact, data: data, tag: tag))
            }
            try visit(top, tag: reference.tag, depth: 1)
        }
        let blobs = blobRepositories.values.map { BlobTask(descriptor: $0.0, repositories: $0.1) }.sorted { $0.descriptor.digest < $1.descriptor.digest }
        return (blobs, manifests)
    }
}

/// An image as values-airgap.yaml names it: the path under `global.imageRegistry`, tag and digest.
struct PushedImage {
    var path: String
    var tag: String
    var digest: Digest
}

/// Blob outcomes counted across upload threads.
final class PushCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var sent = 0, mounted = 0
    private var bytes: Int64 = 0

    func count(_ outcome: BlobPushOutcome, bytes sentBytes: Int64) {
        lock.lock()
        defer { lock.unlock() }
        switch outcome {
        case .sent: sent += 1
        case .mounted: mounted += 1
        case .existed: break
        }
        bytes += sentBytes
    }

    var totals: (Int, Int, Int64) {
        lock.lock()
        defer { lock.unlock() }
        return (sent, mounted, bytes)
    }
}
