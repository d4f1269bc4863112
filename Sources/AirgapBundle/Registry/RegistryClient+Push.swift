import Foundation
import Manifests
import OCILayout

/// How a blob reached the registry.
public enum BlobPushOutcome: Equatable, Sendable {
    case existed
    case mounted
    /// Uploaded: the bytes sent in this run, and whether it continued an earlier run's session.
    case sent(bytes: Int64, resumed: Bool)
}

extension RegistryClient {
    /// Blobs up to this size go up in one PUT; larger ones in PATCH chunks of this size, so a
    /// broken connection costs one chunk, not the blob.
    public static let defaultChunkSize: Int64 = 128 << 20

    /// Whether the repository already has the blob (HEAD, no write).
    public func blobExists(repository: String, digest: Digest) throws -> Bool {
        let url = endpoint.url("/v2/\(repository)/blobs/\(digest)")
        let response = try send(HTTPRequest(method: "HEAD", url: url), repository: repository, actions: "pull,push")
        return response.isSuccess
    }

    /// The digest a manifest reference (tag or digest) currently points at, or nil.
    public func manifestDigest(repository: String, reference: String, mediaType: String) throws -> Digest? {
        let url = endpoint.url("/v2/\(repository)/manifests/\(reference)")
        let request = HTTPRequest(method: "HEAD", url: url, headers: [("Accept", ([mediaType] + MediaType.manifestAccept).joined(separator: ", "))])
        let response = try send(request, repository: repository, actions: "pull,push")
        guard response.isSuccess else { return nil }
        return response.header("docker-content-digest").flatMap { try? Digest(parsing: $0) }
    }

    /// Puts one blob into `repository`: mounted from `mountFrom` when the registry agrees,
    /// otherwise uploaded, in one PUT or in chunks. A failed chunk resumes from the offset the
    /// registry reports it holds. With `sessions`, a chunked upload records its session after
    /// every chunk, and an upload an earlier run left unfinished is resumed from where the
    /// registry has it (or, when the registry no longer keeps it, started again).
    public func pushBlob(_ source: BlobSource, repository: String, mountFrom: String?, chunkSize: Int64 = defaultChunkSize,
                         sessions: UploadSessionStore? = nil, progress: @escaping (Int64) throws -> Void) throws -> BlobPushOutcome {
        let digest = source.descriptor.digest
        let size = source.descriptor.size
        if size > chunkSize, let sessions, let saved = sessions.load(registry: endpoint.name, repository: repository, digest: digest) {
            sessions.remove(registry: endpoint.name, repository: repository, digest: digest)
            if let (location, offset) = try? sessionStatus(saved, repository: repository), offset > 0, offset < size {
                do {
                    let sent = try finishChunked(source, repository: repository, location: location, offset: offset,
                                                 chunkSize: chunkSize, sessions: sessions, progress: progress)
                    try progress(offset)
                    return .sent(bytes: sent, resumed: true)
                } catch is RegistryError {
                    // The registry kept something else than what was recorded (the closing PUT
                    // said the digest does not match): this blob goes up again, from zero.
                }
            }
        }
        var start = endpoint.url("/v2/\(repository)/blobs/uploads/")
        if let mountFrom {
            var components = URLComponents(url: start, resolvingAgainstBaseURL: false)!
            components.queryItems = [URLQueryItem(name: "mount", value: digest.description), URLQueryItem(name: "from", value: mountFrom)]
            start = components.url!
        }
        let opened = try send(HTTPRequest(method: "POST", url: start), repository: repository, actions: "pull,push", alsoPulling: mountFrom)
        if opened.status == 201, mountFrom != nil { return .mounted }
        guard opened.status == 202, var location = try location(of: opened, relativeTo: start) else {
            throw unexpected(opened, start)
        }

        if size <= chunkSize {
            let url = appendingDigest(location, digest)
            let body = BodyProgress(progress)
            let response = try retry.run({ attempt -> HTTPResponse in
                if attempt > 1 {
                    // The session may have kept part of a broken body: start a fresh one.
                    location = try openSession(repository: repository)
                }
                let target = attempt > 1 ? appendingDigest(location, digest) : url
                var request = HTTPRequest(method: "PUT", url: target, headers: [("Content-Type", "application/octet-stream")],
                                          body: .file(source.file, offset: source.offset, length: size))
                request.bodyPosition = body.observer
                return try send(request, repository: repository, actions: "pull,push")
            }, onRetry: retryNotice(url))
            guard response.status == 201 else { throw unexpected(response, url) }
            try progress(size - body.settle())
            return .sent(bytes: size, resumed: false)
        }
        return .sent(bytes: try finishChunked(source, repository: repository, location: location, offset: 0, chunkSize: chunkSize,
                                              sessions: sessions, progress: progress), resumed: false)
    }

    /// Chunks from `offset` into the session at `location`, then the closing PUT; returns the
    /// bytes sent. A chunk that breaks resumes from the offset the registry reports; a registry
    /// that cannot say (distribution refuses a stale upload state once part of a chunk landed)
    /// gets the blob again in a new session.
    private func finishChunked(_ source: BlobSource, repository: String, location start: URL, offset: Int64, chunkSize: Int64,
                               sessions: UploadSessionStore?, progress: @escaping (Int64) throws -> Void) throws -> Int64 {
        let digest = source.descriptor.digest
        struct SessionLost: Error {}
        var location = start
        var from = offset
        var sent: Int64 = 0
        var sessionsLeft = 3
        let registry = endpoint.name
        let record = { (url: URL, acknowledged: Int64) -> Void in
            sessions?.save(UploadSessionStore.Record(registry: registry, repository: repository, digest: digest,
                                                     location: UploadSessionStore.relativeLocation(url), offset: acknowledged))
        }
        while true {
            do {
                location = try uploadChunks(source, repository: repository, from: location, offset: from, chunkSize: chunkSize,
                                            progress: progress, sent: &sent, record: record, sessionLost: SessionLost())
                break
            } catch is SessionLost {
                sessionsLeft -= 1
                guard sessionsLeft > 0 else {
                    sessions?.remove(registry: endpoint.name, repository: repository, digest: digest)
                    throw RegistryError.unexpectedStatus(url: location, status: 404, detail: "the upload session was lost three times", retryAfter: nil)
                }
                location = try openSession(repository: repository)
                from = 0
            }
        }
        let close = appendingDigest(location, digest)
        let closed = try send(HTTPRequest(method: "PUT", url: close), repository: repository, actions: "pull,push")
        sessions?.remove(registry: endpoint.name, repository: repository, digest: digest)
        guard closed.status == 201 else { throw unexpected(closed, close) }
        return sent
    }

    /// Where a recorded session stands: GET on the upload URL answers 204 with the bytes held in
    /// `Range` and the current upload URL in `Location`. Anything else: the session is gone.
    private func sessionStatus(_ saved: UploadSessionStore.Record, repository: String) throws -> (URL, Int64)? {
        // A recorded Location obeys the same rule as a fresh one.
        guard let url = try? RedirectRule.next(from: endpoint.url("/"), location: saved.location) else { return nil }
        let status = try send(HTTPRequest(method: "GET", url: url), repository: repository, actions: "pull,push")
        guard status.status == 204, let range = status.header("range"),
              let end = range.split(separator: "-").last.flatMap({ Int64($0) }) else { return nil }
        // distribution answers `0-0` for an empty session as for one holding one byte: only the
        // record can tell them apart.
        let held = range == "0-0" ? min(saved.offset, 1) : end + 1
        return (try location(of: status, relativeTo: url) ?? url, held)
    }

    /// A new upload session (POST), returning where to send the blob.
    private func openSession(repository: String) throws -> URL {
        let url = endpoint.url("/v2/\(repository)/blobs/uploads/")
        let opened = try send(HTTPRequest(method: "POST", url: url), repository: repository, actions: "pull,push")
        guard opened.status == 202, let location = try location(of: opened, relativeTo: url) else { throw unexpected(opened, url) }
        return location
    }

    /// PATCHes the blob in chunks into the session at `location`, from `startOffset` (what the
    /// session already holds); returns the last location. `record` hears of every chunk the
    /// registry acknowledged.
    private func uploadChunks(_ source: BlobSource, repository: String, from start: URL, offset startOffset: Int64, chunkSize: Int64,
                              progress: @escaping (Int64) throws -> Void, sent: inout Int64, record: (URL, Int64) -> Void,
                              sessionLost: Error) throws -> URL {
        var location = start
        var offset = startOffset
        let size = source.descriptor.size
        var reported = startOffset
        let body = BodyProgress(progress)
        record(location, offset)
        while offset < size {
            let length = min(chunkSize, size - offset)
            let chunkStart = offset
            let response = try retry.run({ attempt -> HTTPResponse in
                var from = chunkStart
                if attempt > 1 {
                    // Ask how much the registry kept; distribution appends whatever arrived.
                    let status = try send(HTTPRequest(method: "GET", url: location), repository: repository, actions: "pull,push")
                    guard status.status == 204, let range = status.header("range"),
                          let end = range.split(separator: "-").last.flatMap({ Int64($0) }) else { throw sessionLost }
                    from = end + 1
                    location = try self.location(of: status, relativeTo: location) ?? location
                }
                let count = chunkStart + length - from
                guard count > 0 else { return HTTPResponse(status: 202, headers: ["location": [location.absoluteString]]) }
                var request = HTTPRequest(method: "PATCH", url: location, headers: [
                    ("Content-Type", "application/octet-stream"), ("Content-Range", "\(from)-\(from + count - 1)")],
                    body: .file(source.file, offset: source.offset + from, length: count))
                request.bodyPosition = body.observer
                return try send(request, repository: repository, actions: "pull,push")
            }, onRetry: retryNotice(location))
            guard response.status == 202, let next = try self.location(of: response, relativeTo: location) else { throw unexpected(response, location) }
            location = next
            sent += length
            offset += length
            record(location, offset)
            let counted = body.settle()
            if offset > reported {
                try progress(offset - reported - counted)
                reported = offset
            } else if counted != 0 {
                try progress(-counted)
            }
        }
        return location
    }

    /// PUTs a manifest under `reference` (its digest, or a tag). The registry must answer with
    /// the same digest: a registry that rewrites manifests would break digest-pinned references.
    public func putManifest(_ data: Data, mediaType: String, repository: String, reference: String) throws {
        let url = endpoint.url("/v2/\(repository)/manifests/\(reference)")
        let request = HTTPRequest(method: "PUT", url: url, headers: [("Content-Type", mediaType)], body: .data(data))
        let response = try send(request, repository: repository, actions: "pull,push")
        guard response.status == 201 || response.status == 200 else { throw unexpected(response, url) }
        let digest = Digest.sha256(of: data)
        if let stored = response.header("docker-content-digest").flatMap({ try? Digest(parsing: $0) }), stored != digest {
            throw RegistryError.digestMismatch(what: "\(endpoint.name)/\(repository):\(reference)", expected: digest.description, actual: stored.description)
        }
    }

    /// Where the registry says the upload continues, under the same rule as a redirect: never
    /// from HTTPS to HTTP, and (by the auth layer) no credentials to another origin.
    private func location(of response: HTTPResponse, relativeTo base: URL) throws -> URL? {
        guard let location = response.header("location") else { return nil }
        return try RedirectRule.next(from: base, location: location)
    }

    private func appendingDigest(_ url: URL, _ digest: Digest) -> URL {
        var components = URLComponents(url: url, resolvingAgainstBaseURL: false)!
        components.queryItems = (components.queryItems ?? []) + [URLQueryItem(name: "digest", value: digest.description)]
        return components.url!
    }

    private func unexpected(_ response: HTTPResponse, _ url: URL) -> RegistryError {
        .unexpectedStatus(url: url, status: response.status, detail: RegistryError.detail(fromBody: response.errorBody),
                          retryAfter: response.header("retry-after").flatMap(Double.init))
    }
}

/// The body of an upload as it leaves, for progress: a 128 MiB PUT moves the line while it is
/// sent, not when the registry answers. The transport reports the position of each attempt
/// (`HTTPRequest.bodyPosition`), so a resend after a 401, a retry or a libcurl rewind takes back
/// what it had counted; once the registry acknowledged, the caller counts the rest by
/// `settle`, so the total is what the registry holds.
final class BodyProgress: @unchecked Sendable {
    private let lock = NSLock()
    private var position: Int64 = 0
    private let report: @Sendable (Int64) -> Void

    init(_ progress: @escaping (Int64) throws -> Void) {
        // The transport's callback cannot throw; a cancellation surfaces at `settle`.
        nonisolated(unsafe) let progress = progress
        report = { try? progress($0) }
    }

    var observer: @Sendable (Int64) -> Void {
        { [self] position in moved(to: position) }
    }

    private func moved(to new: Int64) {
        lock.lock()
        let delta = new - position
        position = new
        lock.unlock()
        if delta != 0 { report(delta) }
    }

    /// What was counted for the bodies since the last settle; counting starts again from zero.
    func settle() -> Int64 {
        lock.lock()
        defer { position = 0; lock.unlock() }
        return position
    }
}
