import Foundation
import Manifests
import OCILayout

/// Step 4b of push, with `--chart-dir`: the chart's libs image (see `LibsImage`) built from the
/// bundle's checked JARs and Flink image, pushed through the same uploader and manifest step as
/// the bundle, its Flink layers mounted from the Flink repository rather than sent.
struct LibsImageStep {
    let image: LibsImage
    let flink: Reference
    let repository: String
    let flinkRepository: String
    let naming: RepositoryNaming
    let bundle: BundleReader

    /// Nil when there is nothing to build (no JARs, or no image to base it on). Built before
    /// any write, so a bundle it cannot be built from stops the push with nothing sent.
    static func prepare(_ chart: ChartDirectoryWriter, bundle: BundleReader, entries: [PushSummary.PushedEntry],
                        naming: RepositoryNaming) throws -> LibsImageStep? {
        guard !chart.jars.isEmpty, let base = chart.chartImage(entries), let item = bundle.item(named: base.source) else { return nil }
        let flink = try Reference(parsing: base.source)
        let jars = try chart.jars.map { ($0.fileName, try bundle.source(for: $0.descriptor)) }
        let image = try LibsImage(base: item.descriptor, documents: bundle.documents, jars: jars, temporaryDirectory: NSTemporaryDirectory())
        return LibsImageStep(image: image, flink: flink, repository: naming.libsRepository,
                             flinkRepository: naming.repository(for: flink.repository), naming: naming, bundle: bundle)
    }

    func push(with uploader: BlobUploader, client: RegistryClient, summary: inout PushSummary) async throws -> PushedImage {
        let repository = self.repository
        // The Flink layers, mounted from where the bundle's Flink image went.
        var seen = Set<Digest>()
        var base: [BlobTask] = []
        for layer in image.baseBlobs where seen.insert(layer.digest).inserted {
            if try await uploader.workers.run({ try client.blobExists(repository: repository, digest: layer.digest) }) { summary.blobsSkipped += 1; continue }
            base.append(BlobTask(descriptor: layer, repositories: [repository]))
        }
        let bundle = self.bundle
        try await uploader.upload(base, mountFrom: flinkRepository, source: { try bundle.source(for: $0) }, summary: &summary)

        // The new layer and configs, from the image's own file.
        var fresh: [BlobTask] = []
        for (digest, blob) in image.blobs.sorted(by: { $0.key < $1.key }) {
            if try await uploader.workers.run({ try client.blobExists(repository: repository, digest: digest) }) { summary.blobsSkipped += 1; continue }
            fresh.append(BlobTask(descriptor: blob.descriptor, repositories: [repository]))
        }
        let image = self.image
        try await uploader.upload(fresh, source: { descriptor in
            guard let source = image.source(for: descriptor.digest) else { throw LayoutError.missingBlob(descriptor.digest.description) }
            return source
        }, summary: &summary)

        uploader.forgetSessions(for: (image.baseBlobs + image.blobs.values.map(\.descriptor)).map { BlobTask(descriptor: $0, repositories: [repository]) })

        let tag = flink.tag ?? "latest"
        var missing: [MissingManifest] = []
        for (position, manifest) in image.manifests.enumerated() {
            let task = ManifestTask(repository: repository, descriptor: manifest.descriptor, data: manifest.data,
                                    tag: position == image.manifests.count - 1 ? tag : nil)
            let check = try await MissingManifest.check(task, in: client, workers: uploader.workers)
            summary.manifestsSkipped += (check.byDigest ? 0 : 1) + (task.tag != nil && !check.byTag ? 1 : 0)
            if check.byDigest || check.byTag { missing.append(check) }
        }
        try await ManifestStep(client: client, workers: uploader.workers).put(missing, summary: &summary)
        summary.entries.append(PushSummary.PushedEntry(kind: .image, source: "libs image (\(flink.description) + connector JARs)",
                                                       target: "\(naming.registry)/\(repository):\(tag)@\(image.top.digest)",
                                                       digest: image.top.digest.description))
        return PushedImage(path: naming.path(for: LibsImage.repositoryName), tag: tag, digest: image.top.digest)
    }
}
