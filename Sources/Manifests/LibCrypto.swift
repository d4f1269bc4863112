import CCrypto

/// libcrypto's process-wide set-up, done once before its first use: hashing, keys,
/// certificates, or libcurl's TLS (`CurlGlobal` calls this before `curl_global_init`).
///
/// By default OpenSSL 3 frees its global state from an `atexit` handler. airgap exits while
/// idle threads that once hashed (Swift's cooperative threads, the worker pool's) may be ending
/// on their own, and a thread that ends runs libcrypto's per-thread clean-up against the state
/// that handler has just freed: a SIGSEGV after the work is done and its output printed (seen at
/// `audit`'s exit under load). The kernel takes the memory back at exit anyway, so the handler
/// is switched off; that is only possible on the first call into libcrypto.
public enum LibCrypto {
    private static let once: Void = {
        _ = OPENSSL_init_crypto(UInt64(OPENSSL_INIT_NO_ATEXIT), nil)
    }()

    public static func initialize() { _ = once }
}
