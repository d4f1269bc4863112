import CCurl
import Foundation
import Manifests
import OCILayout
#if canImport(Glibc)
import Glibc
#endif

/// The bottom transport: one HTTP exchange through libcurl. It follows no redirects and retries
/// nothing: those are decisions for the layers above, which know when `Authorization` must be
/// dropped and which failures are worth another try. It enforces what only it can see: the
/// request's deadline, the low-speed limit, and how much of an error body is read.
///
/// Easy handles are pooled so that keep-alive connections are reused across requests; each is
/// used by one thread at a time.
public final class CurlTransport: HTTPTransport, @unchecked Sendable {
    public let trust: TLSTrust
    public let userAgent: String
    public let limits: TransferLimits
    private let lock = NSLock()
    private var idle: [CurlEasyHandle] = []
    private var bundles: [String: Data?] = [:]

    public init(trust: TLSTrust = TLSTrust(), limits: TransferLimits = TransferLimits(), userAgent: String = "airgap/\(AirgapVersion.current)") {
        CurlGlobal.initialize()
        self.trust = trust
        self.limits = limits
        self.userAgent = userAgent
    }

    public func send(_ request: HTTPRequest, onHead: HeadHandler, into sink: BodySink) throws -> HTTPResponse {
        let caBundle = request.url.scheme == "https" ? try pemBundle(for: request.url.hostAndPort) : nil
        let clientCertificate = request.url.scheme == "https" ? trust.clientCertificate(for: request.url.hostAndPort) : nil
        let handle = takeHandle()
        defer { returnHandle(handle) }
        return try withoutActuallyEscaping(onHead) { onHead in
            try withoutActuallyEscaping(sink) { sink in
                try handle.perform(request, caBundle: caBundle, clientCertificate: clientCertificate, verifyPeer: !trust.skipVerification,
                                   userAgent: userAgent, limits: limits, onHead: onHead, sink: sink)
            }
        }
    }

    private func pemBundle(for host: String) throws -> Data? {
        lock.lock()
        if let cached = bundles[host] { lock.unlock(); return cached }
        lock.unlock()
        let bundle = try trust.pemBundle(for: host)
        lock.lock()
        bundles[host] = bundle
        lock.unlock()
        return bundle
    }

    private func takeHandle() -> CurlEasyHandle {
        lock.lock()
        defer { lock.unlock() }
        return idle.popLast() ?? CurlEasyHandle()
    }

    private func returnHandle(_ handle: CurlEasyHandle) {
        lock.lock()
        defer { lock.unlock() }
        if idle.count < 64 { idle.append(handle) }
    }
}

/// `curl_global_init` must run once before any handle exists, and is not thread-safe itself.
enum CurlGlobal {
    private static let once: Void = {
        LibCrypto.initialize()
        curl_global_init(Int(CURL_GLOBAL_ALL))
    }()
    static func initialize() { _ = once }
}

/// State shared with libcurl's C callbacks for one transfer.
private final class TransferState {
    let onHead: HeadHandler
    let sink: BodySink
    let body: HTTPRequest.Body?
    let errorBodyLimit: Int
    var headDelivered = false
    /// The error body reached its limit and the transfer was cut there on purpose.
    var errorBodyCut = false
    /// Header bytes received: a server that never stops sending headers is cut off.
    var headerBytes = 0
    var headersTooLarge = false
    var uploadPosition: Int64 = 0 {
        didSet { bodyPosition?(uploadPosition) }
    }
    var bodyPosition: (@Sendable (Int64) -> Void)?
    var status = 0
    var headers: [String: [String]] = [:]
    var errorBody = Data()
    var sinkError: Error?

    init(onHead: @escaping HeadHandler, sink: @escaping BodySink, body: HTTPRequest.Body?, errorBodyLimit: Int) {
        self.errorBodyLimit = errorBodyLimit
        self.onHead = onHead
        self.sink = sink
        self.body = body
    }
}

private let writeCallback: airgap_curl_data_callback = { pointer, size, count, context in
    let state = Unmanaged<TransferState>.fromOpaque(context!).takeUnretainedValue()
    let length = size * count
    guard let pointer else { return length }
    let chunk = UnsafeRawBufferPointer(start: pointer, count: length)
    if (200..<300).contains(state.status) {
        do {
            if !state.headDelivered {
                state.headDelivered = true
                try state.onHead(HTTPResponse(status: state.status, headers: state.headers))
            }
            try state.sink(chunk)
        } catch {
            state.sinkError = error
            return 0
        }
    } else {
        // Servers explain refusals in a body; keep its start for the message and stop reading
        // there: an endless error or redirect body must not keep the transfer open.
        let room = state.errorBodyLimit - state.errorBody.count
        state.errorBody.append(contentsOf: chunk.prefix(max(0, room)))
        if chunk.count >= room {
            state.errorBodyCut = true
            return 0
        }
    }
    return length
}

/// Headers of all responses of one transfer (a 100 Continue and a redirect included) may add up
/// to this much; real ones are a few KiB.
private let headerLimit = 256 * 1024

private let headerCallback: airgap_curl_data_callback = { pointer, size, count, context in
    let state = Unmanaged<TransferState>.fromOpaque(context!).takeUnretainedValue()
    let length = size * count
    guard let pointer else { return length }
    state.headerBytes += length
    if state.headerBytes > headerLimit {
        state.headersTooLarge = true
        return 0
    }
    let line = String(decoding: UnsafeRawBufferPointer(start: pointer, count: length), as: UTF8.self)
        .trimmingCharacters(in: .whitespacesAndNewlines)
    if line.hasPrefix("HTTP/") {
        // A new status line (after 100 Continue, say) starts a new set of headers.
        let parts = line.split(separator: " ", maxSplits: 2)
        state.status = parts.count > 1 ? Int(parts[1]) ?? 0 : 0
        state.headers = [:]
    } else if let colon = line.firstIndex(of: ":") {
        let name = line[..<colon].lowercased()
        let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        state.headers[name, default: []].append(value)
    }
    return length
}

private let readCallback: airgap_curl_data_callback = { pointer, size, count, context in
    let state = Unmanaged<TransferState>.fromOpaque(context!).takeUnretainedValue()
    guard let pointer, let body = state.body else { return 0 }
    let capacity = size * count
    switch body {
    case .data(let data):
        let remaining = data.count - Int(state.uploadPosition)
        let length = min(capacity, remaining)
        guard length > 0 else { return 0 }
        data.withUnsafeBytes { bytes in
            UnsafeMutableRawPointer(pointer).copyMemory(from: bytes.baseAddress! + Int(state.uploadPosition), byteCount: length)
        }
        state.uploadPosition += Int64(length)
        return length
    case .file(let file, let offset, let total):
        let length = Int(min(Int64(capacity), total - state.uploadPosition))
        guard length > 0 else { return 0 }
        guard let read = try? file.read(into: UnsafeMutableRawBufferPointer(start: pointer, count: length), at: offset + state.uploadPosition),
              read > 0 else { return Int(CURL_READFUNC_ABORT) }
        state.uploadPosition += Int64(read)
        return read
    }
}

/// libcurl rewinds an upload when it must send it again on a new connection (a reset in the
/// middle of a body); bodies here are a region of a file or bytes in memory, so any offset is a seek.
private let seekCallback: @convention(c) (UnsafeMutableRawPointer?, curl_off_t, Int32) -> Int32 = { context, offset, origin in
    let state = Unmanaged<TransferState>.fromOpaque(context!).takeUnretainedValue()
    guard origin == SEEK_SET, offset >= 0, offset <= (state.body?.length ?? 0) else { return Int32(CURL_SEEKFUNC_CANTSEEK) }
    state.uploadPosition = Int64(offset)
    return Int32(CURL_SEEKFUNC_OK)
}

/// One libcurl easy handle. `UnsafePointer` work for libcurl stays in this file.
final class CurlEasyHandle {
    private let handle: UnsafeMutableRawPointer
    private let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE) + 1)

    init() {
        guard let handle = curl_easy_init() else { fatalError("libcurl could not create a handle") }
        self.handle = handle
    }

    deinit {
        curl_easy_cleanup(handle)
        errorBuffer.deallocate()
    }

    func perform(
        _ request: HTTPRequest, caBundle: Data?, clientCertificate: (certificate: String, key: String)?, verifyPeer: Bool,
        userAgent: String, limits: TransferLimits, onHead: @escaping HeadHandler, sink: @escaping BodySink
    ) throws -> HTTPResponse {
        var timeoutMilliseconds = 0
        if let deadline = request.deadline {
            let remaining = deadline.timeIntervalSinceNow
            guard remaining > 0 else { throw TransportError.deadlineExceeded(url: request.url, seconds: limits.timeout) }
            timeoutMilliseconds = max(1, Int(remaining * 1000))
        }
        curl_easy_reset(handle)
        let state = TransferState(onHead: onHead, sink: sink, body: request.body, errorBodyLimit: limits.errorBodyLimit)
        state.bodyPosition = request.bodyPosition
        request.bodyPosition?(0)
        let context = Unmanaged.passUnretained(state).toOpaque()

        var headerList: UnsafeMutablePointer<curl_slist>?
        for (name, value) in request.headers { headerList = curl_slist_append(headerList, "\(name): \(value)") }
        // libcurl would otherwise send `Expect: 100-continue` and wait before large uploads.
        headerList = curl_slist_append(headerList, "Expect:")
        defer { curl_slist_free_all(headerList) }

        airgap_curl_setopt_string(handle, CURLOPT_URL, request.url.absoluteString)
        airgap_curl_setopt_slist(handle, CURLOPT_HTTPHEADER, headerList)
        airgap_curl_setopt_string(handle, CURLOPT_USERAGENT, userAgent)
        airgap_curl_setopt_long(handle, CURLOPT_NOSIGNAL, 1)
        airgap_curl_setopt_long(handle, CURLOPT_FOLLOWLOCATION, 0)
        airgap_curl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, Int(limits.connectTimeout * 1000))
        // A peer that trickles a byte now and then is as dead as a silent one: below the
        // low-speed limit for its whole window, the attempt ends.
        airgap_curl_setopt_long(handle, CURLOPT_LOW_SPEED_LIMIT, limits.lowSpeedBytesPerSecond)
        airgap_curl_setopt_long(handle, CURLOPT_LOW_SPEED_TIME, limits.lowSpeedSeconds)
        if timeoutMilliseconds > 0 { airgap_curl_setopt_long(handle, CURLOPT_TIMEOUT_MS, timeoutMilliseconds) }
        airgap_curl_setopt_long(handle, CURLOPT_BUFFERSIZE, 512 * 1024)
        airgap_curl_setopt_string(handle, CURLOPT_PROTOCOLS_STR, "http,https")
        errorBuffer[0] = 0
        airgap_curl_setopt_pointer(handle, CURLOPT_ERRORBUFFER, errorBuffer)
        if !verifyPeer {
            airgap_curl_setopt_long(handle, CURLOPT_SSL_VERIFYPEER, 0)
            airgap_curl_setopt_long(handle, CURLOPT_SSL_VERIFYHOST, 0)
        }
        if let clientCertificate {
            airgap_curl_setopt_string(handle, CURLOPT_SSLCERT, clientCertificate.certificate)
            airgap_curl_setopt_string(handle, CURLOPT_SSLKEY, clientCertificate.key)
        }
        if let caBundle {
            var bytes = [UInt8](caBundle)
            airgap_curl_setopt_blob(handle, CURLOPT_CAINFO_BLOB, &bytes, bytes.count)
        }

        airgap_curl_setopt_callback(handle, CURLOPT_WRITEFUNCTION, writeCallback)
        airgap_curl_setopt_pointer(handle, CURLOPT_WRITEDATA, context)
        airgap_curl_setopt_callback(handle, CURLOPT_HEADERFUNCTION, headerCallback)
        airgap_curl_setopt_pointer(handle, CURLOPT_HEADERDATA, context)

        switch request.method {
        case "GET":
            airgap_curl_setopt_long(handle, CURLOPT_HTTPGET, 1)
        case "HEAD":
            airgap_curl_setopt_long(handle, CURLOPT_NOBODY, 1)
        default:
            // Upload mode for every method that may carry a body, so Content-Length is always
            // sent (0 when empty) and the body streams through the read callback.
            airgap_curl_setopt_long(handle, CURLOPT_UPLOAD, 1)
            airgap_curl_setopt_offset(handle, CURLOPT_INFILESIZE_LARGE, curl_off_t(request.body?.length ?? 0))
            airgap_curl_setopt_callback(handle, CURLOPT_READFUNCTION, readCallback)
            airgap_curl_setopt_pointer(handle, CURLOPT_READDATA, context)
            airgap_curl_setopt_seek(handle, seekCallback)
            airgap_curl_setopt_pointer(handle, CURLOPT_SEEKDATA, context)
            airgap_curl_setopt_string(handle, CURLOPT_CUSTOMREQUEST, request.method)
            if case .file = request.body {
                // libcurl silently re-sends a request whose reused connection died; a registry
                // appends what a broken PATCH delivered, so a silent re-send would duplicate
                // bytes. On a fresh connection libcurl does not retry: the caller does, knowing
                // where the upload stands.
                airgap_curl_setopt_long(handle, CURLOPT_FRESH_CONNECT, 1)
            }
        }

        let code = withExtendedLifetime(state) { curl_easy_perform(handle) }
        if let sinkError = state.sinkError { throw sinkError }
        if state.headersTooLarge { throw TransportError.bodyTooLarge(url: request.url, limit: Int64(headerLimit), what: "response head") }
        guard code == CURLE_OK || (code == CURLE_WRITE_ERROR && state.errorBodyCut) else {
            throw transportError(code, url: request.url, deadline: request.deadline, limits: limits)
        }
        var status = 0
        airgap_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        var response = HTTPResponse(status: status, headers: state.headers)
        response.errorBody = state.errorBody
        if response.isSuccess, !state.headDelivered {
            // An empty 2xx body still gets its head checked.
            try onHead(response)
        }
        return response
    }

    private func transportError(_ code: CURLcode, url: URL, deadline: Date?, limits: TransferLimits) -> TransportError {
        let detail = String(cString: errorBuffer)
        if code == CURLE_OPERATION_TIMEDOUT {
            if let deadline, deadline.timeIntervalSinceNow <= 0.05 { return .deadlineExceeded(url: url, seconds: limits.timeout) }
            if detail.contains("too slow") {
                return .stalled(url: url, bytesPerSecond: limits.lowSpeedBytesPerSecond, seconds: limits.lowSpeedSeconds)
            }
        }
        let message = detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail
        // A TLS alert from the server (a refused or missing client certificate) arrives as a
        // read error; it is a TLS failure, and trying again changes nothing.
        if message.contains("alert bad certificate") || message.contains("alert certificate required") || message.contains("alert unknown ca") {
            return .tls(url: url, message: "the registry refused the client certificate (\(message)); put NAME.cert and NAME.key in certs.d/\(url.hostAndPort)/")
        }
        switch code {
        case CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CONNECT_ERROR, CURLE_SSL_CACERT_BADFILE, CURLE_SSL_CERTPROBLEM:
            return .tls(url: url, message: message)
        case CURLE_COULDNT_CONNECT, CURLE_OPERATION_TIMEDOUT, CURLE_GOT_NOTHING, CURLE_SEND_ERROR, CURLE_RECV_ERROR,
             CURLE_PARTIAL_FILE, CURLE_HTTP2, CURLE_HTTP2_STREAM, CURLE_SEND_FAIL_REWIND:
            return .connection(url: url, message: message, retryable: true)
        default:
            return .connection(url: url, message: message, retryable: false)
        }
    }
}
