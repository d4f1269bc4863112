import CCrypto
import Foundation

/// What can be wrong with a key or a signature, phrased for the operator.
public enum KeyError: Error, CustomStringConvertible, Equatable {
    case unreadable(path: String, detail: String)
    case notAKey(path: String, detail: String)
    case unsupported(path: String, type: String)
    case tooOpen(path: String, mode: String)
    case signingFailed(path: String, detail: String)

    public var description: String {
        switch self {
        case .unreadable(let path, let detail): return "\(path): cannot read the key (\(detail))"
        case .notAKey(let path, let detail): return "\(path): not a PEM key airgap can use (\(detail)); give an unencrypted PEM key (PKCS#8, SEC1 or PKCS#1)"
        case .unsupported(let path, let type): return "\(path): a \(type) key; airgap signs and verifies with ECDSA P-256, RSA (2048 bits or more) and Ed25519 keys"
        case .tooOpen(let path, let mode): return "\(path): permissions \(mode) are too open for a private key (group or others may read it); run `chmod 600 \(path)`"
        case .signingFailed(let path, let detail): return "\(path): signing failed (\(detail))"
        }
    }
}

/// A public or private key held by OpenSSL: the one place airgap's signing and signature checks
/// touch libcrypto's key API (hashing lives in `EVPContext`). Verifies and signs the way cosign
/// does: ECDSA P-256 and RSA over SHA-256 (RSA as PKCS#1 v1.5, or PSS when that fails), Ed25519
/// over the message itself.
public final class EVPKey: @unchecked Sendable {
    public enum Kind: String, Sendable, Codable { case ecdsaP256 = "ecdsa-p256", rsa, ed25519 }

    private let key: OpaquePointer
    public let kind: Kind
    public let isPrivate: Bool
    /// Where the key came from, for messages.
    public let source: String

    /// Takes ownership of `key` (freed here, also when refused).
    convenience init(taking key: OpaquePointer, isPrivate: Bool, source: String) throws {
        try self.init(key: key, isPrivate: isPrivate, source: source)
    }

    private init(key: OpaquePointer, isPrivate: Bool, source: String) throws {
        self.key = key
        self.isPrivate = isPrivate
        self.source = source
        switch EVP_PKEY_get_base_id(key) {
        case EVP_PKEY_ED25519: kind = .ed25519
        case EVP_PKEY_RSA:
            let bits = EVP_PKEY_get_bits(key)
            guard bits >= 2048 else {
                EVP_PKEY_free(key)
                throw KeyError.unsupported(path: source, type: "\(bits)-bit RSA")
            }
            kind = .rsa
        case EVP_PKEY_EC:
            var name = [CChar](repeating: 0, count: 64)
            var length = 0
            EVP_PKEY_get_group_name(key, &name, name.count, &length)
            let group = String(cString: name)
            guard group == "prime256v1" || group == "P-256" else {
                EVP_PKEY_free(key)
                throw KeyError.unsupported(path: source, type: "EC \(group)")
            }
            kind = .ecdsaP256
        default:
            let type = EVP_PKEY_get_base_id(key)
            EVP_PKEY_free(key)
            throw KeyError.unsupported(path: source, type: "type-\(type)")
        }
    }

    deinit { EVP_PKEY_free(key) }

    /// A PEM public key (`PUBLIC KEY`), or the key of a PEM certificate.
    public static func publicKey(pem: Data, source: String) throws -> EVPKey {
        let text = String(decoding: pem, as: UTF8.self)
        if text.contains("PRIVATE KEY-----") {
            throw KeyError.notAKey(path: source, detail: "it holds a private key; give the public half")
        }
        let parsed: OpaquePointer? = withBIO(pem) { bio in
            if text.contains("-----BEGIN CERTIFICATE-----") {
                guard let certificate = PEM_read_bio_X509(bio, nil, nil, nil) else { return nil }
                defer { X509_free(certificate) }
                return X509_get_pubkey(certificate)
            }
            return PEM_read_bio_PUBKEY(bio, nil, nil, nil)
        }
        guard let parsed else { throw KeyError.notAKey(path: source, detail: lastError()) }
        return try EVPKey(key: parsed, isPrivate: false, source: source)
    }

    /// An unencrypted PEM private key. An encrypted one is refused, never prompted for: airgap
    /// runs unattended.
    public static func privateKey(pem: Data, source: String) throws -> EVPKey {
        // A non-NULL empty passphrase stops OpenSSL from prompting on the terminal.
        let parsed: OpaquePointer? = withBIO(pem) { bio in
            "".withCString { empty in PEM_read_bio_PrivateKey(bio, nil, nil, UnsafeMutableRawPointer(mutating: empty)) }
        }
        guard let parsed else {
            let text = String(decoding: pem, as: UTF8.self)
            if text.contains("ENCRYPTED") {
                throw KeyError.notAKey(path: source, detail: "it is encrypted; export it unencrypted to a file only you can read, e.g. `openssl pkey -in KEY -out key.pem`")
            }
            throw KeyError.notAKey(path: source, detail: lastError())
        }
        return try EVPKey(key: parsed, isPrivate: true, source: source)
    }

    /// The DER SubjectPublicKeyInfo, the same for a private key and its public half.
    public var publicKeyDER: Data {
        var buffer: UnsafeMutablePointer<UInt8>?
        let length = i2d_PUBKEY(key, &buffer)
        guard length > 0, let buffer else { return Data() }
        defer { CRYPTO_free(buffer, #fileID, #line) }
        return Data(bytes: buffer, count: Int(length))
    }

    /// The public key as PEM (`PUBLIC KEY`).
    public var publicKeyPEM: String {
        let base64 = publicKeyDER.base64EncodedString(options: [.lineLength64Characters, .endLineWithLineFeed])
        return "-----BEGIN PUBLIC KEY-----\n\(base64)\n-----END PUBLIC KEY-----\n"
    }

    /// `sha256:<hex>` of the DER public key: how the lock and messages name a key.
    public var fingerprint: Digest { Digest.sha256(of: publicKeyDER) }

    /// Whether `signature` is a valid signature over `message`.
    public func verify(_ signature: Data, over message: Data) -> Bool {
        switch kind {
        case .ed25519: return verifyOnce(signature, message, digest: nil, padding: nil)
        case .ecdsaP256: return verifyOnce(signature, message, digest: EVP_sha256(), padding: nil)
        case .rsa:
            return verifyOnce(signature, message, digest: EVP_sha256(), padding: RSA_PKCS1_PADDING)
                || verifyOnce(signature, message, digest: EVP_sha256(), padding: RSA_PKCS1_PSS_PADDING)
        }
    }

    /// The signature over `message`: DER ECDSA, PKCS#1 v1.5 RSA, or Ed25519, what cosign's
    /// `sign-blob` writes (before base64) and `openssl dgst -sha256 -sign` makes.
    public func sign(_ message: Data) throws -> Data {
        guard isPrivate else { throw KeyError.signingFailed(path: source, detail: "a public key cannot sign") }
        guard let context = EVP_MD_CTX_new() else { throw KeyError.signingFailed(path: source, detail: "out of memory") }
        defer { EVP_MD_CTX_free(context) }
        var keyContext: OpaquePointer?
        guard EVP_DigestSignInit(context, &keyContext, kind == .ed25519 ? nil : EVP_sha256(), nil, key) == 1 else {
            throw KeyError.signingFailed(path: source, detail: Self.lastError())
        }
        if kind == .rsa, EVP_PKEY_CTX_set_rsa_padding(keyContext, RSA_PKCS1_PADDING) != 1 {
            throw KeyError.signingFailed(path: source, detail: Self.lastError())
        }
        return try message.withUnsafeBytes { input -> Data in
            let bytes = input.bindMemory(to: UInt8.self).baseAddress
            var length = 0
            guard EVP_DigestSign(context, nil, &length, bytes, input.count) == 1 else {
                throw KeyError.signingFailed(path: source, detail: Self.lastError())
            }
            var output = [UInt8](repeating: 0, count: length)
            guard EVP_DigestSign(context, &output, &length, bytes, input.count) == 1 else {
                throw KeyError.signingFailed(path: source, detail: Self.lastError())
            }
            return Data(output.prefix(length))
        }
    }

    private func verifyOnce(_ signature: Data, _ message: Data, digest: OpaquePointer?, padding: Int32?) -> Bool {
        guard let context = EVP_MD_CTX_new() else { return false }
        defer { EVP_MD_CTX_free(context) }
        var keyContext: OpaquePointer?
        guard EVP_DigestVerifyInit(context, &keyContext, digest, nil, key) == 1 else { return false }
        if let padding {
            guard EVP_PKEY_CTX_set_rsa_padding(keyContext, padding) == 1 else { return false }
            // cosign's RSA-PSS uses a salt as long as the hash; OpenSSL's verifier recovers any.
            if padding == RSA_PKCS1_PSS_PADDING { EVP_PKEY_CTX_set_rsa_pss_saltlen(keyContext, -2) }
        }
        let result = signature.withUnsafeBytes { sig in
            message.withUnsafeBytes { input in
                EVP_DigestVerify(context, sig.bindMemory(to: UInt8.self).baseAddress, sig.count,
                                 input.bindMemory(to: UInt8.self).baseAddress, input.count)
            }
        }
        ERR_clear_error()
        return result == 1
    }

    private static func withBIO<T>(_ data: Data, _ body: (OpaquePointer) -> T?) -> T? {
        LibCrypto.initialize()
        return data.withUnsafeBytes { raw -> T? in
            guard let bio = BIO_new_mem_buf(raw.baseAddress, Int32(raw.count)) else { return nil }
            defer { BIO_free(bio) }
            return body(bio)
        }
    }

    private static func lastError() -> String {
        let code = ERR_get_error()
        ERR_clear_error()
        guard code != 0 else { return "no PEM key found" }
        var buffer = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &buffer, buffer.count)
        return String(cString: buffer)
    }
}
