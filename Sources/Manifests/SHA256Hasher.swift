import CCrypto
import Foundation

/// An OpenSSL EVP digest context: the one place airgap's hashing touches libcrypto. EVP uses the
/// CPU's SHA extensions where present (about 3.5 times a portable SHA-256 here).
final class EVPContext {
    enum Algorithm { case sha1, sha256, sha512 }

    private let context: OpaquePointer
    private let algorithm: OpaquePointer
    private(set) var byteCount: Int64 = 0

    init(_ kind: Algorithm) {
        LibCrypto.initialize()
        switch kind {
        case .sha1: algorithm = EVP_sha1()
        case .sha256: algorithm = EVP_sha256()
        case .sha512: algorithm = EVP_sha512()
        }
        guard let context = EVP_MD_CTX_new(), EVP_DigestInit_ex(context, algorithm, nil) == 1 else {
            fatalError("OpenSSL could not initialise a digest")
        }
        self.context = context
    }

    deinit { EVP_MD_CTX_free(context) }

    func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        EVP_DigestUpdate(context, base, bytes.count)
        byteCount += Int64(bytes.count)
    }

    /// Lowercase hex of the digest; the context starts over.
    func finalizeHex() -> String {
        var output = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        EVP_DigestFinal_ex(context, &output, &length)
        EVP_DigestInit_ex(context, algorithm, nil)
        byteCount = 0
        let digits = Array("0123456789abcdef".utf8)
        var hex = [UInt8]()
        hex.reserveCapacity(Int(length) * 2)
        for byte in output.prefix(Int(length)) {
            hex.append(digits[Int(byte >> 4)])
            hex.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: hex, as: UTF8.self)
    }
}

/// Incremental SHA-256: feed it bytes as they stream past; nothing is buffered here.
public final class SHA256Hasher {
    private let context = EVPContext(.sha256)

    public init() {}

    public var byteCount: Int64 { context.byteCount }

    public func update(_ bytes: UnsafeRawBufferPointer) { context.update(bytes) }

    public func update(_ data: Data) { data.withUnsafeBytes { update($0) } }

    /// Returns the digest; the hasher is reset and may be used again.
    public func finalize() -> Digest {
        // 32 bytes of output always form a valid digest.
        try! Digest(algorithm: .sha256, encoded: context.finalizeHex())
    }
}

/// The checksums Maven repositories publish beside artifacts (`.sha1`, `.sha512`), computed
/// incrementally like `SHA256Hasher`.
public final class ChecksumHasher {
    public enum Algorithm: String, Codable, Sendable, CaseIterable {
        case sha1, sha256, sha512

        var evp: EVPContext.Algorithm {
            switch self {
            case .sha1: return .sha1
            case .sha256: return .sha256
            case .sha512: return .sha512
            }
        }

        /// Hex length of this algorithm's digest.
        public var hexLength: Int {
            switch self {
            case .sha1: return 40
            case .sha256: return 64
            case .sha512: return 128
            }
        }
    }

    public let algorithm: Algorithm
    private let context: EVPContext

    public init(_ algorithm: Algorithm) {
        self.algorithm = algorithm
        self.context = EVPContext(algorithm.evp)
    }

    public func update(_ bytes: UnsafeRawBufferPointer) { context.update(bytes) }

    public func finalizeHex() -> String { context.finalizeHex() }
}
