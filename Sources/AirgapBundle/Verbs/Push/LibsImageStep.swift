import Foundation
import Manifests
import OCILayout

/// Step 4b of push, with `--chart-dir`: the chart's libs image (see `LibsImage`) built from the
/// bundle's checked JARs and Flink image, pushed through the same schedule (checks, uploader,
/// manifest step, one `--jobs` bound) as the bundle, once the bundle's images are in, its Flink
/// layers mounted from the Flink repository rather than sent.
struct LibsImageStep {
    let image: LibsImage
    let flink: Reference
    let repository: String
    let flinkRepository: String
    let naming: RepositoryNaming
    let bundle: BundleReader

    /// Nil when there is nothing to build (no JARs, or no image to base it on). Built before
    /// any write, so a bundle it cannot be built from stops the push with nothing sent.
    static func prepare(_ chart: ChartDirectoryWriter, bundle: BundleReader, entries: [EntryReport],
                        naming: RepositoryNaming) throws -> LibsImageStep? {
        guard !chart.jars.isEmpty, let base = chart.chartImage(entries), let item = bundle.item(named: base.reference) else { return nil }
        let flink = try Reference(parsing: base.reference)
        let jars = try chart.jars.map { ($0.fileName, try bundle.source(for: $0.descriptor)) }
        let image = try LibsImage(base: item.descriptor, documents: bundle.documents, jars: jars, temporaryDirectory: NSTemporaryDirectory())
        return LibsImageStep(image: image, flink: flink, repository: naming.libsRepository,
                             flinkRepository: naming.repository(for: flink.repository), naming: naming, bundle: bundle)
    }

    /// Through the bundle's schedule: every check at once, then the blobs (the Flink layers
    /// mounted from where the bundle's Flink image went, the new layer and configs from the
    /// image's own file) and the manifests, children first.
    func push(with schedule: PushSchedule, summary: inout PushSummary) async throws -> PushedImage {
        let repository = self.repository, flinkRepository = self.flinkRepository, image = self.image
        let client = schedule.uploader.client
        var seen = Set<Digest>()
        let base = image.baseBlobs.filter { seen.insert($0.digest).inserted }
        let fresh = image.blobs.sorted(by: { $0.key < $1.key }).map(\.value.descriptor).filter { seen.insert($0.digest).inserted }
        let candidates = base.map { BlobTask(descriptor: $0, repositories: [repository], mountFrom: flinkRepository) }
            + fresh.map { BlobTask(descriptor: $0, repositories: [repository], mountFrom: nil) }
        let present = try await schedule.workers.map(candidates) { task, _ in try client.blobExists(repository: repository, digest: task.descriptor.digest) }
        summary.blobsSkipped += present.filter { $0 }.count
        let blobs = zip(candidates, present).filter { !$0.1 }.map(\.0)

        let tag = flink.tag ?? "latest"
        let tasks = image.manifests.enumerated().map { position, manifest in
            ManifestTask(repository: repository, descriptor: manifest.descriptor, data: manifest.data,
                         tag: position == image.manifests.count - 1 ? tag : nil)
        }
        let missing = try await MissingManifest.check(tasks, in: client, workers: schedule.workers, summary: &summary)
        let bundle = self.bundle
        try await schedule.run(blobs: blobs, manifests: missing, phase: "libs image", source: { descriptor in
            try image.source(for: descriptor.digest) ?? bundle.source(for: descriptor)
        }, summary: &summary)
        schedule.uploader.forgetSessions(for: candidates.map { (digest: $0.descriptor.digest, repository: repository) })
        let sizes = Dictionary((image.baseBlobs + image.blobs.values.map(\.descriptor) + image.manifests.map(\.descriptor)).map { ($0.digest, $0.size) },
                               uniquingKeysWith: { first, _ in first })
        var entry = EntryReport(kind: .image, reference: "libs image (\(flink.description) + connector JARs)", mediaType: image.top.mediaType,
                                digest: image.top.digest.description, platforms: bundle.item(named: flink.description)?.platforms ?? [],
                                bytes: sizes.values.reduce(0, +), blobs: sizes.count)
        entry.target = "\(naming.registry)/\(repository):\(tag)@\(image.top.digest)"
        summary.entries.append(entry)
        return PushedImage(path: naming.path(for: LibsImage.repositoryName), tag: tag, digest: image.top.digest)
    }
}
