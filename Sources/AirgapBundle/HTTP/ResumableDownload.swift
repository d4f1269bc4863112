import Foundation
import OCILayout

/// Where a download's bytes go: a cache ingest, or a blob's place in a bundle being written.
/// `bytesWritten` is where a resumed request continues; `reset` starts over from byte 0.
protocol DownloadTarget: AnyObject {
    var bytesWritten: Int64 { get }
    func write(_ bytes: UnsafeRawBufferPointer) throws
    func reset() throws
}

extension BlobIngest: DownloadTarget {}
extension PlacedBlob: DownloadTarget {}

/// Downloads one body into a `DownloadTarget` within one deadline, retrying as `retry` says. An
/// interrupted transfer resumes with `Range` from the last byte received; a server that ignores
/// `Range` (200 instead of 206) restarts the body from zero. Used for registry blobs, Maven
/// artifacts and chart archives alike.
///
/// Never reads past the size that was declared (a descriptor's), or else published (the
/// first answer's `Content-Length`), or else `maximumSize`: an endless body fills no disk.
struct ResumableDownload {
    var url: URL
    /// When known, more bytes than this are refused and fewer are resumed.
    var expectedSize: Int64?
    /// The cap when nobody declared a size.
    var maximumSize: Int64
    var what: String
    var retry: RetryPolicy
    var limits: TransferLimits
    var onRetry: (Error, Double) -> Void

    /// `send` performs one exchange (through the transport layers, with whatever authorization
    /// they add) and returns the response; `failure` turns a non-2xx response into the error to throw.
    func run(
        into ingest: DownloadTarget, progress: @escaping (Int64) throws -> Void,
        send: (HTTPRequest, HeadHandler, BodySink) throws -> HTTPResponse,
        failure: (HTTPResponse) -> Error
    ) throws {
        let deadline = Date().addingTimeInterval(limits.timeout)
        var published: Int64?
        var attempts = 0
        do {
            try retry.run(deadline: deadline, { attempt in
                attempts = attempt
                var request = HTTPRequest(url: url)
                request.retry = .byCaller
                request.deadline = deadline
                let resumeFrom = ingest.bytesWritten
                if resumeFrom > 0 { request.setHeader("Range", "bytes=\(resumeFrom)-") }
                let response = try send(request, { head in
                    if head.status == 206 {
                        let range = head.header("content-range") ?? ""
                        guard range.hasPrefix("bytes \(resumeFrom)-") else {
                            throw TransportError.unexpectedRange(url: url, detail: "Content-Range \"\(range)\" does not continue at byte \(resumeFrom)")
                        }
                    } else {
                        if expectedSize == nil, published == nil, let length = head.contentLength { published = length }
                        if ingest.bytesWritten > 0 {
                            try progress(-ingest.bytesWritten)
                            try ingest.reset()
                        }
                    }
                    let limit = expectedSize ?? published ?? maximumSize
                    if limit > maximumSize { throw TransportError.bodyTooLarge(url: url, limit: maximumSize, what: what) }
                }, { chunk in
                    let limit = expectedSize ?? published ?? maximumSize
                    if ingest.bytesWritten + Int64(chunk.count) > limit {
                        throw TransportError.bodyTooLarge(url: url, limit: limit, what: what)
                    }
                    try ingest.write(chunk)
                    try progress(Int64(chunk.count))
                })
                if response.status == 416, let size = expectedSize ?? published, ingest.bytesWritten == size { return }
                guard response.isSuccess else { throw failure(response) }
                if let size = expectedSize ?? published, ingest.bytesWritten < size {
                    // The connection closed cleanly but early: resume like any reset.
                    throw TransportError.connection(url: url, message: "body ended after \(ingest.bytesWritten) of \(size) bytes", retryable: true)
                }
            }, onRetry: onRetry)
        } catch let error as TransportError where error.retryable {
            throw TransportError.gaveUp(attempts: attempts, last: error)
        }
    }
}
