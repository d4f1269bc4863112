import Foundation
import Manifests
import XCTest

/// Signatures made by the openssl command line (a peer) verify with `EVPKey`, and signatures
/// `EVPKey` makes verify with openssl, for each key type cosign uses.
final class EVPKeyTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("evpkey-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    @discardableResult
    private func openssl(_ arguments: [String], input: Data? = nil) throws -> Data {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw NSError(domain: "openssl \(arguments.joined(separator: " "))", code: Int(process.terminationStatus)) }
        return data
    }

    private func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    /// A private key and its public half, made by openssl.
    private func keypair(_ name: String, algorithm: [String]) throws -> (EVPKey, EVPKey) {
        try openssl(["genpkey"] + algorithm + ["-out", path("\(name).key")])
        try openssl(["pkey", "-in", path("\(name).key"), "-pubout", "-out", path("\(name).pub")])
        let privateKey = try EVPKey.privateKey(pem: Data(contentsOf: URL(fileURLWithPath: path("\(name).key"))), source: "\(name).key")
        let publicKey = try EVPKey.publicKey(pem: Data(contentsOf: URL(fileURLWithPath: path("\(name).pub"))), source: "\(name).pub")
        return (privateKey, publicKey)
    }

    private let message = Data(#"{"critical":{"identity":{"docker-reference":"r/app"}}}"#.utf8)

    func testECDSAP256SignaturesCrossBetweenOpenSSLAndEVPKey() throws {
        let (privateKey, publicKey) = try keypair("ec", algorithm: ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"])
        XCTAssertEqual(publicKey.kind, .ecdsaP256)
        try message.write(to: URL(fileURLWithPath: path("message")))
        let theirs = try openssl(["dgst", "-sha256", "-sign", path("ec.key"), path("message")])
        XCTAssertTrue(publicKey.verify(theirs, over: message))
        XCTAssertFalse(publicKey.verify(theirs, over: message + Data("x".utf8)))

        let ours = try privateKey.sign(message)
        try ours.write(to: URL(fileURLWithPath: path("ours.sig")))
        let verdict = try openssl(["dgst", "-sha256", "-verify", path("ec.pub"), "-signature", path("ours.sig"), path("message")])
        XCTAssertEqual(String(decoding: verdict, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines), "Verified OK")
        XCTAssertEqual(privateKey.fingerprint, publicKey.fingerprint, "a key and its public half have one fingerprint")
    }

    func testRSAPKCS1AndPSSSignaturesVerify() throws {
        let (privateKey, publicKey) = try keypair("rsa", algorithm: ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"])
        XCTAssertEqual(publicKey.kind, .rsa)
        try message.write(to: URL(fileURLWithPath: path("message")))
        let pkcs1 = try openssl(["dgst", "-sha256", "-sign", path("rsa.key"), path("message")])
        XCTAssertTrue(publicKey.verify(pkcs1, over: message))
        let pss = try openssl(["dgst", "-sha256", "-sign", path("rsa.key"), "-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:32", path("message")])
        XCTAssertTrue(publicKey.verify(pss, over: message))
        XCTAssertEqual(try privateKey.sign(message), try privateKey.sign(message), "PKCS#1 v1.5 is deterministic")
        XCTAssertTrue(publicKey.verify(try privateKey.sign(message), over: message))
    }

    func testEd25519SignsTheMessageItself() throws {
        let (privateKey, publicKey) = try keypair("ed", algorithm: ["-algorithm", "ED25519"])
        XCTAssertEqual(publicKey.kind, .ed25519)
        try message.write(to: URL(fileURLWithPath: path("message")))
        let theirs = try openssl(["pkeyutl", "-sign", "-rawin", "-inkey", path("ed.key"), "-in", path("message")])
        XCTAssertTrue(publicKey.verify(theirs, over: message))
        XCTAssertEqual(try privateKey.sign(message), theirs, "Ed25519 is deterministic: the same bytes as openssl's")
    }

    func testOtherCurvesShortRSAAndPrivateKeysAsPublicKeysAreRefused() throws {
        try openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384", "-out", path("p384.key")])
        try openssl(["pkey", "-in", path("p384.key"), "-pubout", "-out", path("p384.pub")])
        XCTAssertThrowsError(try EVPKey.publicKey(pem: Data(contentsOf: URL(fileURLWithPath: path("p384.pub"))), source: "p384.pub")) { error in
            XCTAssertTrue("\(error)".contains("EC secp384r1"), "\(error)")
        }
        try openssl(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024", "-out", path("short.key")])
        XCTAssertThrowsError(try EVPKey.privateKey(pem: Data(contentsOf: URL(fileURLWithPath: path("short.key"))), source: "short.key")) { error in
            XCTAssertTrue("\(error)".contains("1024-bit RSA"), "\(error)")
        }
        XCTAssertThrowsError(try EVPKey.publicKey(pem: Data(contentsOf: URL(fileURLWithPath: path("short.key"))), source: "short.key")) { error in
            XCTAssertTrue("\(error)".contains("give the public half"), "\(error)")
        }
        XCTAssertThrowsError(try EVPKey.publicKey(pem: Data("not a key".utf8), source: "junk.pem"))
    }

    func testAnEncryptedPrivateKeyIsRefusedWithoutAPrompt() throws {
        try openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-aes256", "-pass", "pass:secret", "-out", path("enc.key")])
        XCTAssertThrowsError(try EVPKey.privateKey(pem: Data(contentsOf: URL(fileURLWithPath: path("enc.key"))), source: "enc.key")) { error in
            XCTAssertTrue("\(error)".contains("encrypted"), "\(error)")
        }
    }
}
