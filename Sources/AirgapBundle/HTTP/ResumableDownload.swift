import Foundation
import OCILayout

/// Downloads one body into a `BlobIngest`, retrying as `retry` says. An interrupted transfer
/// resumes with `Range` from the last byte received; a server that ignores `Range` (200 instead
/// of 206) restarts the body from zero. Used for registry blobs and Maven artifacts alike.
struct ResumableDownload {
    var url: URL
    /// When known, more bytes than this are refused and fewer are resumed.
    var expectedSize: Int64?
    var retry: RetryPolicy
    var onRetry: (Error, Double) -> Void

    /// `send` performs one exchange (with whatever authorization its caller adds) and returns the
    /// response; `failure` turns a non-2xx response into the error to throw.
    func run(
        into ingest: BlobIngest, progress: @escaping (Int64) throws -> Void,
        send: (HTTPRequest, HeadHandler, BodySink) throws -> HTTPResponse,
        failure: (HTTPResponse) -> Error
    ) throws {
        try retry.run({ _ in
            var request = HTTPRequest(url: url)
            let resumeFrom = ingest.bytesWritten
            if resumeFrom > 0 { request.setHeader("Range", "bytes=\(resumeFrom)-") }
            let response = try send(request, { head in
                if head.status == 206 {
                    let range = head.header("content-range") ?? ""
                    guard range.hasPrefix("bytes \(resumeFrom)-") else {
                        throw RegistryError.unexpectedStatus(url: url, status: 206, detail: "Content-Range \"\(range)\" does not continue at byte \(resumeFrom)", retryAfter: nil)
                    }
                } else if ingest.bytesWritten > 0 {
                    try progress(-ingest.bytesWritten)
                    try ingest.reset()
                }
            }, { chunk in
                if let expectedSize, ingest.bytesWritten + Int64(chunk.count) > expectedSize {
                    throw RegistryError.digestMismatch(what: url.redactedString, expected: "\(expectedSize) bytes",
                                                       actual: "more than \(expectedSize) bytes")
                }
                try ingest.write(chunk)
                try progress(Int64(chunk.count))
            })
            if response.status == 416, let expectedSize, ingest.bytesWritten == expectedSize { return }
            guard response.isSuccess else { throw failure(response) }
            if let expectedSize, ingest.bytesWritten < expectedSize {
                // The connection closed cleanly but early: resume like any reset.
                throw TransportError.connection(url: url, message: "body ended after \(ingest.bytesWritten) of \(expectedSize) bytes", retryable: true)
            }
        }, onRetry: onRetry)
    }
}
