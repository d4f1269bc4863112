import CCrypto
import Foundation

/// An X.509 certificate held by OpenSSL, for keyless (Fulcio-style) cosign signatures: the
/// chain to a trust root, the identity in its subject alternative names, the OIDC issuer in
/// Fulcio's extension, and its key. With `EVPKey`, the only place airgap touches libcrypto's
/// certificate API.
public final class X509Certificate: @unchecked Sendable {
    private let certificate: OpaquePointer

    private init(_ certificate: OpaquePointer) {
        self.certificate = certificate
    }

    deinit { X509_free(certificate) }

    /// Every `CERTIFICATE` block of a PEM text, in order; empty when there is none.
    public static func all(pem: Data) -> [X509Certificate] {
        LibCrypto.initialize()
        return pem.withUnsafeBytes { raw -> [X509Certificate] in
            guard let bio = BIO_new_mem_buf(raw.baseAddress, Int32(raw.count)) else { return [] }
            defer { BIO_free(bio) }
            var certificates: [X509Certificate] = []
            while let certificate = PEM_read_bio_X509(bio, nil, nil, nil) { certificates.append(X509Certificate(certificate)) }
            ERR_clear_error()
            return certificates
        }
    }

    /// The certificate's public key.
    public func publicKey(source: String) throws -> EVPKey {
        guard let key = X509_get_pubkey(certificate) else { throw KeyError.notAKey(path: source, detail: "the certificate holds no usable key") }
        return try EVPKey(taking: key, isPrivate: false, source: source)
    }

    /// E-mail addresses and URIs among the subject alternative names: where Fulcio writes the
    /// signer's identity.
    public var identities: [String] {
        guard let names = X509_get_ext_d2i(certificate, NID_subject_alt_name, nil, nil) else { return [] }
        let stack = OpaquePointer(names)
        defer { GENERAL_NAMES_free(stack) }
        var identities: [String] = []
        for position in 0..<OPENSSL_sk_num(stack) {
            guard let raw = OPENSSL_sk_value(stack, position) else { continue }
            let name = raw.assumingMemoryBound(to: GENERAL_NAME.self).pointee
            guard name.type == GEN_EMAIL || name.type == GEN_URI, let text = name.d.ia5 else { continue }
            identities.append(Self.string(text))
        }
        return identities
    }

    /// The raw bytes of an extension, by dotted OID.
    public func extensionValue(oid: String) -> Data? {
        guard let object = OBJ_txt2obj(oid, 1) else { return nil }
        defer { ASN1_OBJECT_free(object) }
        let position = X509_get_ext_by_OBJ(certificate, object, -1)
        guard position >= 0, let item = X509_get_ext(certificate, position), let data = X509_EXTENSION_get_data(item) else { return nil }
        guard let bytes = ASN1_STRING_get0_data(data) else { return Data() }
        return Data(bytes: bytes, count: Int(ASN1_STRING_length(data)))
    }

    /// The OIDC issuer Fulcio recorded: extension 1.3.6.1.4.1.57264.1.8 (a DER UTF8String), or
    /// the older 1.3.6.1.4.1.57264.1.1 (the bare string).
    public var oidcIssuer: String? {
        if let value = extensionValue(oid: "1.3.6.1.4.1.57264.1.8"), value.count >= 2, value[value.startIndex] == 0x0C {
            // Fulcio's issuers are short: a one-byte DER length.
            let length = Int(value[value.startIndex + 1])
            guard length < 0x80, value.count == 2 + length else { return nil }
            return String(decoding: value.dropFirst(2), as: UTF8.self)
        }
        return extensionValue(oid: "1.3.6.1.4.1.57264.1.1").map { String(decoding: $0, as: UTF8.self) }
    }

    /// Whether the extended key usage allows code signing, as Fulcio's certificates say.
    public var allowsCodeSigning: Bool { X509_get_extended_key_usage(certificate) & UInt32(XKU_CODE_SIGN) != 0 }

    /// When the certificate became valid, in seconds since 1970.
    public var notBefore: Int {
        guard let time = X509_get0_notBefore(certificate) else { return 0 }
        var parts = tm()
        guard ASN1_TIME_to_tm(time, &parts) == 1 else { return 0 }
        return timegm(&parts)
    }

    /// Whether this certificate chains to one of `roots` through `intermediates`, checked as at
    /// `time` (seconds since 1970); nil when it does, else OpenSSL's reason.
    public func chainError(intermediates: [X509Certificate], roots: [X509Certificate], at time: Int) -> String? {
        guard let store = X509_STORE_new() else { return "out of memory" }
        defer { X509_STORE_free(store) }
        for root in roots { X509_STORE_add_cert(store, root.certificate) }
        guard let untrusted = OPENSSL_sk_new_null() else { return "out of memory" }
        defer { OPENSSL_sk_free(untrusted) }
        for intermediate in intermediates { OPENSSL_sk_push(untrusted, UnsafeRawPointer(intermediate.certificate)) }
        guard let context = X509_STORE_CTX_new() else { return "out of memory" }
        defer { X509_STORE_CTX_free(context) }
        guard X509_STORE_CTX_init(context, store, certificate, untrusted) == 1 else { return "cannot set up the check" }
        X509_STORE_CTX_set_time(context, 0, time_t(time))
        let result = X509_verify_cert(context)
        ERR_clear_error()
        if result == 1 { return nil }
        return String(cString: X509_verify_cert_error_string(Int(X509_STORE_CTX_get_error(context))))
    }

    private static func string(_ asn1: UnsafePointer<ASN1_STRING>) -> String {
        guard let bytes = ASN1_STRING_get0_data(asn1) else { return "" }
        return String(decoding: UnsafeBufferPointer(start: bytes, count: Int(ASN1_STRING_length(asn1))), as: UTF8.self)
    }
}
