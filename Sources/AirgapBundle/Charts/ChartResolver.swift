import Foundation
import Manifests
import OCILayout
import Yams

/// A chart from the spec, resolved: its bundle entry, and what the lock records.
public struct ResolvedChart: Sendable {
    public var source: ChartSource
    public var name: String
    public var version: String
    public var archive: Descriptor
    public var entry: BundleEntry
}

/// Resolves the three kinds of chart source into the blob store.
public struct ChartResolver: Sendable {
    public var pool: RegistryPool
    public var cache: BlobStore
    public var allowUnverified: Bool
    var stack: TransportStack { pool.stack }

    public init(pool: RegistryPool, cache: BlobStore, allowUnverified: Bool) {
        self.pool = pool
        self.cache = cache
        self.allowUnverified = allowUnverified
    }

    public func resolve(_ source: ChartSource) throws -> ResolvedChart {
        switch source {
        case .directory(_, let directory):
            let chart = try ChartPackager.package(directory: directory, into: cache)
            return ResolvedChart(source: source, name: chart.name, version: chart.version, archive: chart.archive, entry: ArtifactManifests.chart(chart))
        case .repository(let url, let name, let version):
            let chart = try fetchFromRepository(url, name: name, version: version)
            return ResolvedChart(source: source, name: chart.name, version: chart.version, archive: chart.archive, entry: ArtifactManifests.chart(chart))
        case .oci(let reference, let url):
            return try fetchFromRegistry(reference, url: url, source: source)
        }
    }

    /// A Helm repository: the version's entry in `index.yaml`, its first URL, checked against
    /// the published digest.
    private func fetchFromRepository(_ repository: URL, name: String, version: String) throws -> PackagedChart {
        let indexURL = repository.appendingPathComponent("index.yaml")
        // The credential comes from the credential sources, once per repository, and goes only
        // to the repository's own origin.
        let transport = stack.repository(origin: repository, credential: RepositoryCredential.find(.helm, host: repository.host ?? ""))
        let (response, body) = try transport.collect(HTTPRequest(url: indexURL), limit: TransferLimits.helmIndexLimit, what: "Helm repository index")
        guard response.isSuccess else {
            throw ChartError.repositoryStatus(url: indexURL.redactedString, status: response.status, detail: ErrorBody.detail(response.errorBody))
        }
        struct Index: Decodable {
            struct Version: Decodable { var version: String; var urls: [String]?; var digest: String? }
            var entries: [String: [Version]]?
        }
        let index: Index
        let text = String(decoding: body, as: UTF8.self)
        do {
            try YAMLInput.check(text, source: indexURL.redactedString)
            index = try YAMLDecoder().decode(Index.self, from: text)
        } catch let error as YAMLInputError {
            throw error
        } catch {
            throw ChartError.notAChart(indexURL.redactedString, "index.yaml does not parse: \(error)")
        }
        guard let entry = index.entries?[name]?.first(where: { $0.version == version }), let first = entry.urls?.first,
              let chartURL = URL(string: first, relativeTo: repository.absoluteString.hasSuffix("/") ? repository : repository.appendingPathComponent(""))?.absoluteURL
        else { throw ChartError.versionNotFound(repository: repository.redactedString, name: name, version: version) }
        if entry.digest == nil, !allowUnverified { throw ChartError.noDigest(url: chartURL.redactedString) }

        let ingest = try BlobIngest(store: cache)
        try ResumableDownload(url: chartURL, expectedSize: nil, maximumSize: TransferLimits.chartLimit, what: "chart archive",
                              retry: stack.retry, limits: stack.limits, onRetry: stack.retryNotice(chartURL)).run(
            into: ingest, progress: { _ in },
            send: { request, onHead, sink in try transport.send(request, onHead: onHead, into: sink) },
            failure: { response in
                ChartError.repositoryStatus(url: chartURL.redactedString, status: response.status, detail: ErrorBody.detail(response.errorBody))
            })
        let (digest, size) = try ingest.commitAsComputed()
        if let published = entry.digest, "sha256:\(published.lowercased())" != digest.description {
            cache.remove(digest)
            throw ChartError.digestMismatch(url: chartURL.redactedString, published: "sha256:\(published)", actual: digest.description)
        }
        guard let chartYAML = ArchiveProbe.readEntry(ofTarball: cache.path(for: digest), where: { $0.split(separator: "/").count == 2 && $0.hasSuffix("/Chart.yaml") }) else {
            throw ChartError.notAChart(chartURL.redactedString, "no <name>/Chart.yaml inside")
        }
        let (chartName, chartVersion, config) = try ChartPackager.metadata(fromChartYAML: chartYAML, source: chartURL.redactedString)
        guard chartName == name, chartVersion == version else {
            cache.remove(digest)
            throw ChartError.notAChart(chartURL.redactedString, "its Chart.yaml says \(chartName) \(chartVersion), index.yaml says \(name) \(version)")
        }
        return PackagedChart(name: chartName, version: chartVersion,
                             archive: Descriptor(mediaType: MediaType.helmChartContent, digest: digest, size: size), config: config)
    }

    /// A chart already stored as an OCI artifact: carried byte for byte.
    private func fetchFromRegistry(_ reference: Reference, url: String, source: ChartSource) throws -> ResolvedChart {
        let client = pool.client(for: reference.registry)
        let fetched = try client.manifest(repository: reference.repository, reference: reference.identifier, displayName: url)
        guard case .manifest(let manifest) = try fetched.document(), manifest.config.mediaType == MediaType.helmConfig,
              let archive = manifest.layers.first(where: { $0.mediaType == MediaType.helmChartContent })
        else { throw ChartError.notAChart(url, "its manifest has no Helm config and chart layer") }
        for blob in manifest.blobs where !cache.contains(blob.digest, size: blob.size) {
            try client.fetchBlob(repository: reference.repository, descriptor: blob, into: cache)
        }
        let config = try cache.read(manifest.config.digest)
        struct Metadata: Decodable { var name: String; var version: String }
        guard let metadata = try? JSONDecoder().decode(Metadata.self, from: config) else {
            throw ChartError.notAChart(url, "its config has no name and version")
        }
        guard ChartName.isValid(metadata.name), SemanticVersion.isValid(metadata.version) else {
            throw ChartError.notAChart(url, "its config names \"\(metadata.name)\" \"\(metadata.version)\", not a chart name and SemVer 2 version")
        }
        let entry = BundleEntry(kind: .chart, reference: LockedChart.reference(name: metadata.name, version: metadata.version),
                                descriptor: fetched.descriptor, documents: [fetched.digest: fetched.data], blobs: manifest.blobs, registry: nil)
        return ResolvedChart(source: source, name: metadata.name, version: metadata.version, archive: archive, entry: entry)
    }
}
