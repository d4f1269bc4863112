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
    public var transport: HTTPTransport
    public var cache: BlobStore
    public var retry: RetryPolicy
    public var allowUnverified: Bool

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
        let (response, body) = try retry.run { _ in
            try RedirectFollower(transport: transport).collect(HTTPRequest(url: indexURL), limit: 64 << 20)
        }
        guard response.isSuccess else {
            throw RegistryError.unexpectedStatus(url: indexURL, status: response.status, detail: "the Helm repository's index", retryAfter: nil)
        }
        struct Index: Decodable {
            struct Version: Decodable { var version: String; var urls: [String]?; var digest: String? }
            var entries: [String: [Version]]?
        }
        let index: Index
        do { index = try YAMLDecoder().decode(Index.self, from: String(decoding: body, as: UTF8.self)) } catch {
            throw ChartError.notAChart(indexURL.redactedString, "index.yaml does not parse: \(error)")
        }
        guard let entry = index.entries?[name]?.first(where: { $0.version == version }), let first = entry.urls?.first,
              let chartURL = URL(string: first, relativeTo: repository.absoluteString.hasSuffix("/") ? repository : repository.appendingPathComponent(""))?.absoluteURL
        else { throw ChartError.versionNotFound(repository: repository.redactedString, name: name, version: version) }
        if entry.digest == nil, !allowUnverified { throw ChartError.noDigest(url: chartURL.redactedString) }

        let ingest = try BlobIngest(store: cache)
        try ResumableDownload(url: chartURL, expectedSize: nil, retry: retry, onRetry: { _, _ in }).run(
            into: ingest, progress: { _ in },
            send: { request, onHead, sink in try RedirectFollower(transport: transport).send(request, onHead: onHead, into: sink) },
            failure: { response in
                RegistryError.unexpectedStatus(url: chartURL, status: response.status, detail: "chart archive", retryAfter: nil)
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
        let entry = BundleEntry(kind: .chart, reference: LockedChart.reference(name: metadata.name, version: metadata.version),
                                descriptor: fetched.descriptor, documents: [fetched.digest: fetched.data], blobs: manifest.blobs, registry: nil)
        return ResolvedChart(source: source, name: metadata.name, version: metadata.version, archive: archive, entry: entry)
    }
}

extension RedirectFollower {
    /// Sends and collects a 2xx body in memory, up to `limit` bytes.
    func collect(_ request: HTTPRequest, limit: Int) throws -> (HTTPResponse, Data) {
        let body = BodyCollector(url: request.url, limit: limit)
        let response = try send(request, onHead: { _ in }, into: body.append)
        try response.throwIfRetryable(request.url)
        return (response, body.data)
    }
}
