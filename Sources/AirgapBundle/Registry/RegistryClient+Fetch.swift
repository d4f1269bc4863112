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
    /// Manifests are small; a registry sending more than this is not sending a manifest.
    static let manifestLimit = 4 << 20

    /// Fetches a manifest by tag or digest, accepting OCI and Docker forms. The digest is computed
    /// over the bytes received and must equal the digest asked for and any `Docker-Content-Digest`.
    public func manifest(repository: String, reference: String, displayName: String) throws -> FetchedManifest {
        let url = endpoint.url("/v2/\(repository)/manifests/\(reference)")
        let request = HTTPRequest(url: url, headers: [("Accept", MediaType.manifestAccept.joined(separator: ", "))])
        let (response, data) = try retry.run({ _ in
            var data = Data()
            let response = try send(request, repository: repository, into: { chunk in
                guard data.count + chunk.count <= Self.manifestLimit else {
                    throw TransportError.responseTooLarge(url: url, limit: Self.manifestLimit)
                }
                data.append(contentsOf: chunk)
            })
            return (response, data)
        }, onRetry: retryNotice(url))
        if response.status == 404 { throw RegistryError.manifestUnknown(reference: displayName) }
        guard response.isSuccess else {
            throw RegistryError.unexpectedStatus(url: url, status: response.status,
                                                 detail: RegistryError.detail(fromBody: response.errorBody), retryAfter: nil)
        }
        let digest = Digest.sha256(of: data)
        if let asked = try? Digest(parsing: reference), asked != digest {
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

    /// Downloads a blob into `store`, hashing as it streams. An interrupted transfer resumes with
    /// `Range` from the last byte received; a registry that ignores `Range` (200 instead of 206)
    /// restarts the blob from zero. Nothing reaches the store unless the digest and size match.
    /// `progress` hears each chunk's size (negative on a restart); if it throws, the download stops.
    public func fetchBlob(
        repository: String, descriptor: Descriptor, into store: BlobStore, progress: @escaping (Int64) throws -> Void = { _ in }
    ) throws {
        let url = endpoint.url("/v2/\(repository)/blobs/\(descriptor.digest)")
        let ingest = try BlobIngest(store: store)
        let expectedSize = descriptor.size
        try retry.run({ _ in
            var request = HTTPRequest(url: url)
            let resumeFrom = ingest.bytesWritten
            if resumeFrom > 0 { request.setHeader("Range", "bytes=\(resumeFrom)-") }
            let response = try send(request, repository: repository, onHead: { head in
                if head.status == 206 {
                    let range = head.header("content-range") ?? ""
                    guard range.hasPrefix("bytes \(resumeFrom)-") else {
                        throw RegistryError.unexpectedStatus(url: url, status: 206, detail: "Content-Range \"\(range)\" does not continue at byte \(resumeFrom)", retryAfter: nil)
                    }
                } else if ingest.bytesWritten > 0 {
                    try progress(-ingest.bytesWritten)
                    try ingest.reset()
                }
            }) { chunk in
                guard ingest.bytesWritten + Int64(chunk.count) <= expectedSize else {
                    throw RegistryError.digestMismatch(what: "\(repository)@\(descriptor.digest)", expected: "\(expectedSize) bytes",
                                                       actual: "more than \(expectedSize) bytes")
                }
                try ingest.write(chunk)
                try progress(Int64(chunk.count))
            }
            if response.status == 404 { throw RegistryError.blobUnknown(repository: "\(endpoint.name)/\(repository)", digest: descriptor.digest.description) }
            if response.status == 416, ingest.bytesWritten == expectedSize { return }
            guard response.isSuccess else {
                throw RegistryError.unexpectedStatus(url: url, status: response.status,
                                                     detail: RegistryError.detail(fromBody: response.errorBody), retryAfter: nil)
            }
            if ingest.bytesWritten < expectedSize {
                // The connection closed cleanly but early: resume like any reset.
                throw TransportError.connection(url: url, message: "body ended after \(ingest.bytesWritten) of \(expectedSize) bytes", retryable: true)
            }
        }, onRetry: retryNotice(url))
        do {
            try ingest.commit(expected: descriptor.digest, size: expectedSize)
        } catch LayoutError.digestMismatch(_, let expected, let actual) {
            throw RegistryError.digestMismatch(what: "\(endpoint.name)/\(repository)@\(descriptor.digest)", expected: expected, actual: actual)
        }
    }
}
