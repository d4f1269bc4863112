import Foundation
import Manifests
import OCILayout

/// A blob to put into one or more repositories.
struct BlobTask: Sendable {
    var descriptor: Descriptor
    var repositories: [String]
    /// A repository of the same registry that holds the blob already: the first repository
    /// mounts from it instead of uploading.
    var mountFrom: String?
}

/// A manifest to put, by digest and then by tag.
struct ManifestTask: Sendable {
    var repository: String
    var descriptor: Descriptor
    var data: Data
    var tag: String?
}

/// Step 1 of push: which blobs go to which repositories, and the manifests in the order a
/// registry accepts them (children before the index that names them, digests before tags);
/// then, asking the registry with HEAD only, what it lacks.
struct PushPlan {
    var blobs: [BlobTask]
    var manifests: [ManifestTask]
    var entries: [EntryReport]

    init(_ bundle: BundleReader, naming: RepositoryNaming) throws {
        var blobRepositories: [Digest: (Descriptor, [String])] = [:]
        var manifests: [ManifestTask] = []
        var entries: [EntryReport] = []
        for item in bundle.items {
            let reference = try Reference(parsing: item.reference)
            let repository = naming.repository(for: reference.repository)
            var entry = EntryReport(item)
            entry.target = "\(naming.registry)/\(repository)\(reference.tag.map { ":\($0)" } ?? "")@\(item.descriptor.digest)"
            entries.append(entry)
            var seen = Set<Digest>()
            // The bundle reader already refused nesting past the limit; the plan walks the same
            // graph and holds to the same limit.
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
                switch try ManifestDocument(decoding: data, mediaType: descriptor.mediaType) {
                case .index(let index): for child in index.manifests { try visit(child, tag: nil, depth: depth + 1) }
                case .manifest(let manifest): for blob in manifest.blobs { try visit(blob, tag: nil, depth: depth + 1) }
                }
                var exact = descriptor
                exact.size = Int64(data.count)
                manifests.append(ManifestTask(repository: repository, descriptor: exact, data: data, tag: tag))
            }
            try visit(item.descriptor, tag: reference.tag, depth: 1)
        }
        self.blobs = blobRepositories.values.map { BlobTask(descriptor: $0.0, repositories: $0.1, mountFrom: nil) }.sorted { $0.descriptor.digest < $1.descriptor.digest }
        self.manifests = manifests
        self.entries = entries
    }

    /// What the registry lacks: blobs (with a repository that already holds the blob to mount
    /// from) and manifests by digest and by tag. HEAD only, nothing is written; each round of
    /// checks at once under the pool's bound, the results in plan order.
    ///
    /// Manifests are asked for from the top down, and one the repository holds by digest vouches
    /// for everything it names there (a registry stores a manifest only once its blobs and child
    /// manifests are in): its subtree is not asked about again. crane trusts an index's existing
    /// children the same way. So a push that finds everything there sends one HEAD per image.
    func missing(in client: RegistryClient, workers: WorkerPool, summary: inout PushSummary,
                 progress: TransferProgress = .silent) async throws -> (blobs: [BlobTask], manifests: [MissingManifest]) {
        let key = { (repository: String, digest: Digest) in "\(repository)@\(digest)" }
        let positions = Dictionary(grouping: manifests.indices, by: { key(manifests[$0].repository, manifests[$0].descriptor.digest) })
        let children = manifests.map { ManifestStep.children(of: $0) }
        var vouched = Set<String>()
        func vouch(_ position: Int) {
            let repository = manifests[position].repository
            for child in children[position] where vouched.insert(key(repository, child)).inserted {
                for below in positions[key(repository, child)] ?? [] { vouch(below) }
            }
        }
        var named = Set<String>()
        for (position, task) in manifests.enumerated() {
            for child in children[position] { named.insert(key(task.repository, child)) }
        }
        let possible = blobs.reduce(manifests.count) { $0 + $1.repositories.count }
        // Every check that could be asked counts, so one vouched for is done without a request.
        progress.begin("check", bytes: 0, blobs: possible, unit: "blobs and manifests", subject: client.endpoint.name)
        var results: [Int: MissingManifest] = [:]
        // Tops first (and anything tagged: a tag is asked about in its own right).
        var frontier = manifests.indices.filter { !named.contains(key(manifests[$0].repository, manifests[$0].descriptor.digest)) || manifests[$0].tag != nil }
        while !frontier.isEmpty {
            let checked = try await workers.map(frontier.map { manifests[$0] }) { task, _ in
                defer { progress.blobDone() }
                return try MissingManifest.check(task, in: client)
            }
            for (position, result) in zip(frontier, checked) {
                results[position] = result
                if !result.byDigest { vouch(position) }
            }
            var next: [Int] = []
            for position in frontier where results[position]?.byDigest == true {
                let repository = manifests[position].repository
                for child in children[position] where !vouched.contains(key(repository, child)) {
                    for below in positions[key(repository, child)] ?? [] where results[below] == nil && !next.contains(below) { next.append(below) }
                }
            }
            frontier = next
        }
        var missingManifests: [MissingManifest] = []
        for (position, task) in manifests.enumerated() {
            if results[position] == nil { progress.blobDone() }
            let result = results[position] ?? MissingManifest(task: task, byDigest: false, byTag: false)
            summary.manifestsSkipped += (result.byDigest ? 0 : 1) + (task.tag != nil && !result.byTag ? 1 : 0)
            if result.byDigest || result.byTag { missingManifests.append(result) }
        }

        let pairs = blobs.flatMap { task in
            task.repositories.filter { !vouched.contains(key($0, task.descriptor.digest)) }.map { (digest: task.descriptor.digest, repository: $0) }
        }
        for _ in pairs.count..<(possible - manifests.count) { progress.blobDone() }
        let present = try await workers.map(pairs) { pair, _ in
            defer { progress.blobDone() }
            return try client.blobExists(repository: pair.repository, digest: pair.digest)
        }
        var held: [Digest: Set<String>] = [:]
        for (pair, isPresent) in zip(pairs, present) where isPresent { held[pair.digest, default: []].insert(pair.repository) }
        var missingBlobs: [BlobTask] = []
        for task in blobs {
            let holders = task.repositories.filter { held[task.descriptor.digest]?.contains($0) == true || vouched.contains(key($0, task.descriptor.digest)) }
            summary.blobsSkipped += holders.count
            let lacking = task.repositories.filter { !holders.contains($0) }
            guard !lacking.isEmpty else { continue }
            missingBlobs.append(BlobTask(descriptor: task.descriptor, repositories: lacking, mountFrom: holders.first))
        }
        return (missingBlobs, missingManifests)
    }

    /// What a dry run reports: the blobs, manifests and tags the registry lacks.
    static func report(blobs: [BlobTask], manifests: [MissingManifest], registry: String) -> PushPlanReport {
        var report = PushPlanReport(registry: registry)
        report.blobs = blobs.map { .init(digest: $0.descriptor.digest.description, mediaType: $0.descriptor.mediaType, bytes: $0.descriptor.size,
                                         repositories: $0.repositories, mountFrom: $0.mountFrom) }
        for missing in manifests {
            let descriptor = missing.task.descriptor
            if missing.byDigest {
                report.manifests.append(.init(repository: missing.task.repository, digest: descriptor.digest.description, mediaType: descriptor.mediaType, bytes: descriptor.size))
            }
            if missing.byTag, let tag = missing.task.tag {
                report.tags.append(.init(repository: missing.task.repository, tag: tag, digest: descriptor.digest.description))
            }
        }
        return report
    }
}

/// A manifest the registry lacks by digest, by tag, or both.
struct MissingManifest: Sendable {
    var task: ManifestTask
    var byDigest: Bool
    var byTag: Bool

    /// Which of `tasks` the registry lacks, by digest or tag; all checked at once.
    static func check(_ tasks: [ManifestTask], in client: RegistryClient, workers: WorkerPool,
                      summary: inout PushSummary, progress: TransferProgress = .silent) async throws -> [MissingManifest] {
        let checked = try await workers.map(tasks) { task, _ in
            defer { progress.blobDone() }
            return try check(task, in: client)
        }
        for missing in checked {
            summary.manifestsSkipped += (missing.byDigest ? 0 : 1) + (missing.task.tag != nil && !missing.byTag ? 1 : 0)
        }
        return checked.filter { $0.byDigest || $0.byTag }
    }

    /// Whether the registry lacks `task` by digest or tag. A tag that already names the digest
    /// answers both questions in one HEAD.
    static func check(_ task: ManifestTask, in client: RegistryClient) throws -> MissingManifest {
        let mediaType = task.descriptor.mediaType
        if let tag = task.tag, try client.manifestDigest(repository: task.repository, reference: tag, mediaType: mediaType) == task.descriptor.digest {
            return MissingManifest(task: task, byDigest: false, byTag: false)
        }
        let byDigest = try client.manifestDigest(repository: task.repository, reference: task.descriptor.digest.description, mediaType: mediaType) == nil
        return MissingManifest(task: task, byDigest: byDigest, byTag: task.tag != nil)
    }
}
