import Foundation
import Manifests
import OCILayout

/// Where a chunked blob upload stands, kept on disk so that a push killed in the middle resumes
/// from the registry's upload session in the next run instead of sending the blob again.
///
/// One small JSON file per registry, repository and blob: the upload URL the registry last
/// answered with (path and query only: no scheme, host or credentials), the offset it
/// acknowledged, the digest. Written atomically after every acknowledged chunk, removed when
/// the blob is committed or the registry no longer knows the session.
public struct UploadSessionStore: Sendable {
    public struct Record: Codable, Equatable, Sendable {
        public var registry: String
        public var repository: String
        public var digest: Digest
        /// Path and query of the upload URL (`/v2/…/blobs/uploads/<uuid>?_state=…`).
        public var location: String
        /// Bytes the registry acknowledged.
        public var offset: Int64
    }

    public let directory: String

    public init(directory: String) {
        self.directory = directory
    }

    func path(registry: String, repository: String, digest: Digest) -> String {
        let key = Digest.sha256(of: Data("\(registry)/\(repository)@\(digest)".utf8)).encoded.prefix(32)
        return "\(directory)/\(key).json"
    }

    public func load(registry: String, repository: String, digest: Digest) -> Record? {
        guard let data = FileManager.default.contents(atPath: path(registry: registry, repository: repository, digest: digest)),
              let record = try? JSONDecoder().decode(Record.self, from: data),
              record.registry == registry, record.repository == repository, record.digest == digest,
              record.location.hasPrefix("/")
        else { return nil }
        return record
    }

    /// Best effort: a state that cannot be written costs a resume, never the push.
    public func save(_ record: Record) {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let data = try JSONEncoder.canonical(pretty: true).encode(record)
            try AtomicFile.write(data, to: path(registry: record.registry, repository: record.repository, digest: record.digest), mode: 0o600)
        } catch {}
    }

    public func remove(registry: String, repository: String, digest: Digest) {
        unlink(path(registry: registry, repository: repository, digest: digest))
    }

    /// Path and query of an upload URL, as recorded.
    static func relativeLocation(_ url: URL) -> String {
        let components = URLComponents(url: url, resolvingAgainstBaseURL: false)
        let path = components?.percentEncodedPath ?? url.path
        return path + (components?.percentEncodedQuery.map { "?\($0)" } ?? "")
    }
}
