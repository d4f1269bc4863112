import Foundation
import Manifests
import OCILayout

/// A JAR fetched from a Maven repository and checked against the checksum it publishes.
public struct ResolvedJar: Sendable {
    public var coordinate: MavenCoordinate
    public var url: URL
    public var digest: Digest
    public var size: Int64
    /// nil when accepted with `--allow-unverified` because the repository published none.
    public var upstreamChecksum: LockedJar.UpstreamChecksum?
}

public enum MavenError: Error, CustomStringConvertible {
    case notFound(MavenCoordinate, URL)
    case checksumMismatch(MavenCoordinate, URL, algorithm: String, published: String, actual: String)
    case noChecksum(MavenCoordinate, URL)
    case malformedChecksum(MavenCoordinate, URL)
    case notAJar(MavenCoordinate, URL)
    case unauthorized(MavenCoordinate, URL, source: String?)
    case lockMismatch(MavenCoordinate, locked: String, actual: String)
    case unexpectedStatus(MavenCoordinate, URL, status: Int, detail: String)

    public var description: String {
        switch self {
        case .notFound(let coordinate, let url):
            return "\(coordinate): not found at \(url.redactedString) (404); check the coordinates, or the repository (jars.repository / --maven-repo)"
        case .checksumMismatch(let coordinate, let url, let algorithm, let published, let actual):
            return "\(coordinate): \(url.redactedString) hashes to \(algorithm) \(actual), but the repository's .\(algorithm) says \(published); refusing it"
        case .noChecksum(let coordinate, let url):
            return "\(coordinate): the repository publishes no .sha512 or .sha1 for \(url.redactedString); pass --allow-unverified to take it unchecked (the lock will say so)"
        case .malformedChecksum(let coordinate, let url):
            return "\(coordinate): the checksum file beside \(url.redactedString) holds no hex digest"
        case .notAJar(let coordinate, let url):
            return "\(coordinate): \(url.redactedString) is not a JAR (libarchive cannot read it as a zip)"
        case .unauthorized(let coordinate, let url, let source):
            return "\(coordinate): \(url.redactedString) refused us (401/403)" + (source.map { "; the credentials from \($0) were rejected" }
                ?? "; set AIRGAP_MAVEN_USERNAME/AIRGAP_MAVEN_PASSWORD or add the host to ~/.netrc")
        case .lockMismatch(let coordinate, let locked, let actual):
            return "\(coordinate): the repository now serves \(actual), the lock pins \(locked); run `airgap lock` to accept"
        case .unexpectedStatus(let coordinate, let url, let status, let detail):
            return "\(coordinate): \(url.redactedString) answered HTTP \(status)\(detail.isEmpty ? "" : " (\(detail))"); check the repository (jars.repository / --maven-repo)"
        }
    }
}

/// A Maven 2 repository (Maven Central, or a Nexus/Artifactory mirror of it), reached through
/// the same transport layers as registries (`TransportStack.repository`).
public struct MavenRepository: Sendable {
    public var baseURL: URL
    let stack: TransportStack
    let transport: HTTPTransport
    let credential: RepositoryCredential?

    /// The credential is looked up here, once, from the credential sources (never from the URL).
    public init(baseURL: URL, stack: TransportStack, credential: RepositoryCredential?? = nil) {
        self.baseURL = baseURL
        self.stack = stack
        self.credential = credential ?? RepositoryCredential.find(.maven, host: baseURL.host ?? "")
        self.transport = stack.repository(origin: baseURL, credential: self.credential)
    }

    public func url(for coordinate: MavenCoordinate) -> URL {
        let base = baseURL.absoluteString.hasSuffix("/") ? baseURL.absoluteString : baseURL.absoluteString + "/"
        return URL(string: base + coordinate.repositoryPath)!
    }

    /// Downloads the JAR into `store`, hashing it with SHA-256 and with the algorithm of the
    /// strongest checksum the repository publishes (`.sha512`, else `.sha1`), and keeps it only
    /// if that checksum matches and the file is a zip.
    public func fetch(_ coordinate: MavenCoordinate, into store: BlobStore, allowUnverified: Bool,
                      progress: @escaping (Int64) throws -> Void = { _ in }) throws -> ResolvedJar {
        let url = url(for: coordinate)
        var published: (algorithm: ChecksumHasher.Algorithm, value: String)?
        for algorithm in [ChecksumHasher.Algorithm.sha512, .sha1] {
            if let value = try fetchChecksum(coordinate, url: url, algorithm: algorithm) {
                published = (algorithm, value)
                break
            }
        }
        if published == nil, !allowUnverified {
            // No checksum may mean no artifact at all: say which.
            let head = try transport.send(HTTPRequest(method: "HEAD", url: url)) { _ in }
            if !head.isSuccess { throw failure(coordinate, url: url, head) }
            throw MavenError.noChecksum(coordinate, url)
        }

        let ingest = try BlobIngest(store: store, alsoComputing: published?.algorithm)
        try ResumableDownload(url: url, expectedSize: nil, maximumSize: TransferLimits.jarLimit, what: "JAR",
                              retry: stack.retry, limits: stack.limits, onRetry: stack.retryNotice(url)).run(
            into: ingest, progress: progress,
            send: { request, onHead, sink in try transport.send(request, onHead: onHead, into: sink) },
            failure: { response in failure(coordinate, url: url, response) })
        if let published, let computed = ingest.checksum?.finalizeHex(), computed != published.value {
            throw MavenError.checksumMismatch(coordinate, url, algorithm: published.algorithm.rawValue, published: published.value, actual: computed)
        }
        let (digest, size) = try ingest.commitAsComputed()
        guard ArchiveProbe.isReadableZip(store.path(for: digest)) else {
            store.remove(digest)
            throw MavenError.notAJar(coordinate, url)
        }
        return ResolvedJar(coordinate: coordinate, url: url, digest: digest, size: size,
                           upstreamChecksum: published.map { LockedJar.UpstreamChecksum(algorithm: $0.algorithm.rawValue, value: $0.value) })
    }

    /// The published checksum's hex (first token of the file, as Maven writes `HEX  name` too),
    /// or nil when the repository has no such file.
    private func fetchChecksum(_ coordinate: MavenCoordinate, url: URL, algorithm: ChecksumHasher.Algorithm) throws -> String? {
        let checksumURL = URL(string: url.absoluteString + "." + algorithm.rawValue)!
        let (response, body) = try transport.collect(HTTPRequest(url: checksumURL), limit: TransferLimits.checksumLimit, what: "checksum file")
        if response.status == 404 { return nil }
        guard response.isSuccess else { throw failure(coordinate, url: checksumURL, response) }
        let token = String(decoding: body, as: UTF8.self).split(whereSeparator: { $0.isWhitespace }).first.map { $0.lowercased() } ?? ""
        guard token.count == algorithm.hexLength, token.allSatisfy(\.isHexDigit) else {
            throw MavenError.malformedChecksum(coordinate, url)
        }
        return token
    }

    private func failure(_ coordinate: MavenCoordinate, url: URL, _ response: HTTPResponse) -> Error {
        switch response.status {
        case 404: return MavenError.notFound(coordinate, url)
        case 401, 403: return MavenError.unauthorized(coordinate, url, source: credential?.source)
        default: return MavenError.unexpectedStatus(coordinate, url, status: response.status, detail: ErrorBody.detail(response.errorBody))
        }
    }
}
