import Foundation
import Manifests
import OCILayout

/// A manifest or index exactly as the registry sent it, with the digest of those bytes.
public struct FetchedManifest: Sendable {
    public var data: Data
    public var mediaType: String
    public var digest: Digest

    public var descriptor: Descriptor { Descriptor(mediaType: mediaType, digest: digest, size: Int64(data.count)) }

    public func document() throws -> ManifestDocument { try ManifestDocument(decoding: data, mediaType: mediaType) }
}

extension RegistryClient {
    /// Fetches a manifest by tag or digest, accepting OCI and Docker forms. The digest is computed
    /// over the bytes received and must equal the digest asked for and any `Docker-Content-Digest`.
    /// A manifest asked for by digest is fetched once per run, however many indexes name it.
    public func manifest(repository: String, reference: String, displayName: String) throws -> FetchedManifest {
        guard let asked = try? Digest(parsing: reference) else {
            let manifest = try fetchManifest(repository: repository, reference: reference, displayName: displayName)
            fetched.set(manifest, for: "\(repository)@\(manifest.digest)")
            return manifest
        }
        // Images resolved in parallel often share children (one base, one signature index):
        // the second asker waits for the first one's answer instead of asking again.
        return try fetched.value(for: "\(repository)@\(asked)") {
            try fetchManifest(repository: repository, reference: reference, displayName: displayName)
        }
    }

    private func fetchManifest(repository: String, reference: String, displayName: String) throws -> FetchedManifest {
        let asked = try? Digest(parsing: reference)
        let url = endpoint.url("/v2/\(repository)/manifests/\(reference)")
        let request = HTTPRequest(url: url, headers: [("Accept", MediaType.manifestAccept.joined(separator: ", "))])
        let body = BodyCollector(url: url, limit: TransferLimits.manifestLimit, what: "manifest")
        let response = try send(request, repository: repository, onHead: body.reset, into: body.append)
        let data = body.data
        if response.status == 404 { throw RegistryError.manifestUnknown(reference: displayName) }
        guard response.isSuccess else {
            throw RegistryError.unexpectedStatus(url: url, status: response.status,
                                                 detail: RegistryError.detail(fromBody: response.errorBody), retryAfter: nil)
        }
        let digest = Digest.sha256(of: data)
        if let asked, asked != digest {
            throw RegistryError.digestMismatch(what: displayName, expected: asked.description, actual: digest.description)
        }
        if let claimed = response.header("docker-content-digest").flatMap({ try? Digest(parsing: $0) }),
           claimed.algorithm == .sha256, claimed != digest {
            throw RegistryError.digestMismatch(what: displayName, expected: claimed.description, actual: digest.description)
        }
        let contentType = response.header("content-type")?.split(separator: ";").first.map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        let mediaType: String
        switch try ManifestDocument(decoding: data, mediaType: contentType) {
        case .index(let index): mediaType = index.mediaType ?? contentType.flatMap { MediaType.isIndex($0) ? $0 : nil } ?? MediaType.ociIndex
        case .manifest(let manifest): mediaType = manifest.mediaType ?? contentType.flatMap { MediaType.isManifest($0) ? $0 : nil } ?? MediaType.ociManifest
        }
        return FetchedManifest(data: data, mediaType: mediaType, digest: digest)
    }

    /// Downloads a blob into `store`, hashing as it streams and resuming an interrupted transfer
    /// (see `ResumableDownload`). Nothing reaches the store unless the digest and size match.
    /// `progress` hears each chunk's size (negative on a restart); if it throws, the download stops.
    public func fetchBlob(
        repository: String, descriptor: Descriptor, into store: BlobStore, progress: @escaping (Int64) throws -> Void = { _ in }
    ) throws {
        let ingest = try BlobIngest(store: store)
        try fetchBlob(repository: repository, descriptor: descriptor, into: ingest, progress: progress)
        try committing(descriptor, repository: repository) { try ingest.commit(expected: descriptor.digest, size: descriptor.size) }
    }

    /// Downloads a blob straight into its place in a bundle being written (see `PlacedTarFile`),
    /// hashing as it streams; its last bytes count as filled (so the tarball can be finished)
    /// only if the digest and size match.
    public func fetchBlob(
        repository: String, descriptor: Descriptor, into placed: PlacedBlob, progress: @escaping (Int64) throws -> Void = { _ in }
    ) throws {
        try fetchBlob(repository: repository, descriptor: descriptor, into: placed as DownloadTarget, progress: progress)
        try committing(descriptor, repository: repository) { try placed.finish() }
    }

    private func committing(_ descriptor: Descriptor, repository: String, _ commit: () throws -> Void) throws {
        do {
            try commit()
        } catch LayoutError.digestMismatch(_, let expected, let actual) {
            throw RegistryError.digestMismatch(what: "\(endpoint.name)/\(repository)@\(descriptor.digest)", expected: expected, actual: actual)
        }
    }

    func fetchBlob(
        repository: String, descriptor: Descriptor, into target: DownloadTarget, progress: @escaping (Int64) throws -> Void
    ) throws {
        let url = endpoint.url("/v2/\(repository)/blobs/\(descriptor.digest)")
        let download = ResumableDownload(url: url, expectedSize: descriptor.size, maximumSize: .max, what: "blob",
                                         retry: retry, limits: stack.limits, onRetry: retryNotice(url))
        try download.run(into: target, progress: progress, send: { request, onHead, sink in
            try send(request, repository: repository, onHead: onHead, into: sink)
        }, failure: { [endpoint] response in
            if response.status == 404 {
                return RegistryError.blobUnknown(repository: "\(endpoint.name)/\(repository)", digest: descriptor.digest.description)
            }
            return RegistryError.unexpectedStatus(url: url, status: response.status,
                                                  detail: RegistryError.detail(fromBody: response.errorBody), retryAfter: nil)
        })
    }
}
