import AirgapTestSupport
import Foundation
import Manifests
import XCTest

/// `pack --sign-key` signs the bundle's lock in cosign `sign-blob` format; `verify --key` and
/// `push --key` accept only a bundle whose lock that key signed, and write nothing otherwise.
/// openssl (a peer) checks the signature; Python `cryptography` makes the keys.
final class BundleSignatureTests: XCTestCase {
    static var registry: RegistryServer!
    static var keys: TemporaryDirectory!

    var host: String { Self.registry.host }
    func key(_ name: String) -> String { Self.keys.file(name) }

    override class func setUp() {
        super.setUp()
        do {
            registry = try RegistryServer()
            keys = try TemporaryDirectory("keys")
            for (name, type) in [("signer", "ecdsa"), ("other", "ecdsa"), ("rsa", "rsa"), ("ed", "ed25519")] {
                try CosignFixture.keygen(keys.file(name), type: type)
            }
            let layout = keys.file("oci")
            try TestImages.build(layout: layout, ref: "app", layers: 2, seed: "bundle-signature")
            try TestImages.push(layout: layout, ref: "app", to: registry, repository: "team/app:1")
        } catch { fatalError("bundle signature fixture: \(error)") }
    }

    override class func tearDown() {
        registry = nil
        keys = nil
        super.tearDown()
    }

    /// A bundle packed and signed with `signKey`, its lock beside it.
    private func signedBundle(in work: TemporaryDirectory, signKey: String? = nil) throws -> String {
        let spec = try work.write("airgap.yaml", "images:\n  - ref: \(host)/team/app:1\n")
        var arguments = ["pack", "--spec", spec, "--insecure-registry", host, "-o", work.file("bundle.tar")]
        if let signKey { arguments += ["--sign-key", signKey] }
        try AirgapRunner().check(arguments)
        return work.file("bundle.tar")
    }

    private func member(_ name: String, of bundle: String) throws -> Data {
        Data(try Command.check("tar", ["-xOf", bundle, name]).stdout.utf8)
    }

    /// After tampering, the attacker rewrites `<bundle>.sha256` too: only the signature is left.
    private func rewriteChecksum(_ bundle: String) throws {
        let sum = try Command.check("sha256sum", [bundle]).stdout.prefix(64)
        try "\(sum)  bundle.tar\n".write(toFile: bundle + ".sha256", atomically: true, encoding: .utf8)
    }

    /// Both verify --key and push --key exit 1 with `expected` in their one-line error, and the
    /// internal registry receives no write.
    private func assertRefused(_ bundle: String, expected: String, extra: [String] = [], file: StaticString = #filePath, line: UInt = #line) throws {
        let airgap = try AirgapRunner()
        let verify = try airgap.run(["verify", bundle, "--key", key("signer.pub")] + extra)
        XCTAssertEqual(verify.status, 1, verify.stdout, file: file, line: line)
        XCTAssertTrue(verify.stderr.contains(expected), verify.stderr, file: file, line: line)
        XCTAssertEqual(verify.stderr.split(separator: "\n").count, 1, verify.stderr, file: file, line: line)
        let enclave = try RegistryServer()
        defer { enclave.stop() }
        let push = try airgap.run(["push", bundle, "--registry", enclave.host, "--plain-http", "--key", key("signer.pub")] + extra)
        XCTAssertEqual(push.status, 1, push.stdout, file: file, line: line)
        XCTAssertTrue(push.stderr.contains(expected), push.stderr, file: file, line: line)
        let writes = enclave.accessLog().split(separator: "\n").filter { $0.contains("\"PUT ") || $0.contains("\"POST ") || $0.contains("\"PATCH ") }
        XCTAssertEqual(writes, [], "the registry received a write", file: file, line: line)
    }

    func testSignedBundleVerifiesWithItsKeyAndOpenSSLAcceptsTheSignature() throws {
        let work = try TemporaryDirectory()
        let bundle = try signedBundle(in: work, signKey: key("signer.key"))
        let verify = try AirgapRunner().check(["verify", bundle, "--key", key("signer.pub")])
        XCTAssertTrue(verify.stdout.contains("bundle signature: verified with"), verify.stdout)

        // cosign sign-blob's format: base64 of a DER ECDSA signature over SHA-256 of the lock.
        let signature = try member("airgap/bundle.lock.sig", of: bundle)
        let raw = try XCTUnwrap(Data(base64Encoded: signature))
        try raw.write(to: URL(fileURLWithPath: work.file("sig.bin")))
        try member("airgap/bundle.lock", of: bundle).write(to: URL(fileURLWithPath: work.file("lock")))
        let openssl = try Command.run("openssl", ["dgst", "-sha256", "-verify", key("signer.pub"), "-signature", work.file("sig.bin"), work.file("lock")])
        XCTAssertEqual(openssl.status, 0, openssl.stdout + openssl.stderr)
        XCTAssertTrue(openssl.stdout.contains("Verified OK"), openssl.stdout)
        // The lock inside is the lock beside it, byte for byte: what was signed is what the user reviewed.
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: work.file("lock"))), try Data(contentsOf: URL(fileURLWithPath: work.file("bundle.lock"))))

        let enclave = try RegistryServer()
        defer { enclave.stop() }
        try AirgapRunner().check(["push", bundle, "--registry", enclave.host, "--plain-http", "--key", key("signer.pub")])
        XCTAssertNotNil(try CosignFixture.rawManifest("\(enclave.host)/team/app:1"))
    }

    func testRSAAndEd25519KeysSignBundlesThatVerify() throws {
        for name in ["rsa", "ed"] {
            let work = try TemporaryDirectory()
            let bundle = try signedBundle(in: work, signKey: key("\(name).key"))
            try AirgapRunner().check(["verify", bundle, "--key", key("\(name).pub")])
            XCTAssertEqual(try AirgapRunner().run(["verify", bundle, "--key", key("signer.pub")]).status, 1, name)
        }
    }

    func testVerifyAndPushWithKeyRefuseAChangedByteInALayer() throws {
        let work = try TemporaryDirectory()
        let bundle = try signedBundle(in: work, signKey: key("signer.key"))
        let lock = try JSONDecoder().decode(Lockfile.self, from: Data(contentsOf: URL(fileURLWithPath: work.file("bundle.lock"))))
        let manifest = try JSONDecoder().decode(ImageManifest.self, from: try member("blobs/sha256/\(lock.images[0].bundled!.digest.encoded)", of: bundle))
        let layer = "blobs/sha256/\(manifest.layers[0].digest.encoded)"
        try Tamper.run(["flip", bundle, layer])
        try rewriteChecksum(bundle)
        try assertRefused(bundle, expected: "content hashes to")
    }

    func testVerifyAndPushWithKeyRefuseAChangedByteInTheLock() throws {
        let work = try TemporaryDirectory()
        let bundle = try signedBundle(in: work, signKey: key("signer.key"))
        // One byte of the lock inside: a digit of the airgap version, which no bundle entry shows.
        var lock = try member("airgap/bundle.lock", of: bundle)
        let position = try XCTUnwrap(lock.range(of: Data("\"airgapVersion\" : \"".utf8))).upperBound
        lock[position] = lock[position] == UInt8(ascii: "9") ? UInt8(ascii: "8") : UInt8(ascii: "9")
        try lock.write(to: URL(fileURLWithPath: work.file("altered.lock")))
        try Tamper.run(["replace", bundle, "airgap/bundle.lock", work.file("altered.lock")])
        try rewriteChecksum(bundle)
        try assertRefused(bundle, expected: "airgap/bundle.lock.sig does not verify with")

        // The lock beside the bundle, one byte changed: the signed bundle no longer matches it.
        let pristine = try TemporaryDirectory()
        let good = try signedBundle(in: pristine, signKey: key("signer.key"))
        var beside = try Data(contentsOf: URL(fileURLWithPath: pristine.file("bundle.lock")))
        let size = try XCTUnwrap(beside.range(of: Data("\"size\" : ".utf8))).upperBound
        beside[size] = beside[size] == UInt8(ascii: "9") ? UInt8(ascii: "8") : UInt8(ascii: "9")
        try beside.write(to: URL(fileURLWithPath: pristine.file("bundle.lock")))
        try assertRefused(good, expected: "bundle.lock", extra: ["--lock", pristine.file("bundle.lock")])
    }

    func testVerifyAndPushWithKeyRefuseALockResignedWithAnotherKey() throws {
        let work = try TemporaryDirectory()
        let bundle = try signedBundle(in: work, signKey: key("signer.key"))
        // The attacker signs the lock again with a key of their own (openssl, as sign-blob would).
        try member("airgap/bundle.lock", of: bundle).write(to: URL(fileURLWithPath: work.file("lock")))
        let forged = try Command.check("/bin/sh", ["-c", "openssl dgst -sha256 -sign '\(key("other.key"))' '\(work.file("lock"))' | base64 -w0"]).stdout
        _ = try work.write("forged.sig", forged)
        try Tamper.run(["replace", bundle, "airgap/bundle.lock.sig", work.file("forged.sig")])
        try rewriteChecksum(bundle)
        try AirgapRunner().check(["verify", bundle, "--key", key("other.pub")])
        try assertRefused(bundle, expected: "airgap/bundle.lock.sig does not verify with")
    }

    func testVerifyAndPushWithKeyRefuseAnUnsignedBundle() throws {
        let work = try TemporaryDirectory()
        let bundle = try signedBundle(in: work)
        let plain = try AirgapRunner().check(["verify", bundle])
        XCTAssertTrue(plain.stdout.contains("bundle signature: absent"), plain.stdout)
        try assertRefused(bundle, expected: "airgap/bundle.lock.sig is missing")
    }

    func testPackRefusesASigningKeyOthersCanReadAndNeverPrintsIt() throws {
        let work = try TemporaryDirectory()
        let exposed = work.file("exposed.key")
        try FileManager.default.copyItem(atPath: key("signer.key"), toPath: exposed)
        try FileManager.default.setAttributes([.posixPermissions: 0o640], ofItemAtPath: exposed)
        let spec = try work.write("airgap.yaml", "images:\n  - ref: \(host)/team/app:1\n")
        let result = try AirgapRunner().run(["pack", "--spec", spec, "--insecure-registry", host, "-o", work.file("bundle.tar"), "--sign-key", exposed])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("permissions 0640 are too open") && result.stderr.contains("chmod 600"), result.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: work.file("bundle.tar")))
        XCTAssertFalse(FileManager.default.fileExists(atPath: work.file("bundle.lock")), "refused before anything was resolved")

        // With the right mode it signs, and neither the key nor the signature is printed whole.
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: exposed)
        let signed = try AirgapRunner().check(["pack", "--spec", spec, "--insecure-registry", host, "-o", work.file("bundle.tar"), "--sign-key", exposed])
        let keyBody = try String(contentsOfFile: exposed, encoding: .utf8).split(separator: "\n").dropFirst().first.map(String.init) ?? "?"
        let signature = String(decoding: try member("airgap/bundle.lock.sig", of: work.file("bundle.tar")), as: UTF8.self)
        let refused = try AirgapRunner().run(["verify", work.file("bundle.tar"), "--key", key("other.pub")])
        for output in [signed.stdout + signed.stderr, refused.stdout + refused.stderr] {
            XCTAssertFalse(output.contains(keyBody), output)
            XCTAssertFalse(output.contains(signature), output)
        }
    }
}
