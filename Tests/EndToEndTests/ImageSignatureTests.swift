import AirgapTestSupport
import Foundation
import Manifests
import XCTest

/// cosign signatures (tag scheme) and OCI 1.1 referrers cross the gap: found upstream, checked
/// with the spec's key, bundled byte for byte, and pushed where cosign and OpenShift look.
/// Signatures are written by Python `cryptography` (Tests/Fixtures/cosign_sign.py).
final class ImageSignatureTests: XCTestCase {
    static var registry: RegistryServer!
    static var keys: TemporaryDirectory!
    /// Two-platform index, signed (over the index digest) with `good` and attested.
    static var appDigest = ""
    static var signatureDigest = ""
    static var attestationDigest = ""
    static var unsignedDigest = ""
    static var copiedDigest = ""

    var host: String { Self.registry.host }
    func key(_ name: String) -> String { Self.keys.file(name) }

    override class func setUp() {
        super.setUp()
        do {
            registry = try RegistryServer()
            keys = try TemporaryDirectory("keys")
            for (name, type) in [("good", "ecdsa"), ("other", "ecdsa"), ("rsa", "rsa"), ("ed", "ed25519")] {
                try CosignFixture.keygen(keys.file(name), type: type)
            }
            let layout = keys.file("oci")
            appDigest = try TestImages.build(layout: layout, ref: "app", platforms: ["linux/amd64", "linux/arm64"], layers: 2, seed: "signed-app")
            unsignedDigest = try TestImages.build(layout: layout, ref: "unsigned", layers: 1, seed: "unsigned")
            copiedDigest = try TestImages.build(layout: layout, ref: "copied", layers: 1, seed: "copied")
            let rsaDigest = try TestImages.build(layout: layout, ref: "rsa", layers: 1, seed: "rsa")
            let edDigest = try TestImages.build(layout: layout, ref: "ed", layers: 1, seed: "ed")
            for (ref, repository) in [("app", "signed/app:1"), ("unsigned", "plain/unsigned:1"), ("copied", "signed/copied:1"),
                                      ("rsa", "signed/rsa:1"), ("ed", "signed/ed:1")] {
                try TestImages.push(layout: layout, ref: ref, to: registry, repository: repository)
            }
            signatureDigest = try CosignFixture.sign(registry: registry, repository: "signed/app", digest: appDigest, key: keys.file("good.key"))
            attestationDigest = try CosignFixture.attest(registry: registry, repository: "signed/app", digest: appDigest, key: keys.file("good.key"))
            // A valid signature, by the right key, copied from another image: it signs app's digest.
            try CosignFixture.sign(registry: registry, repository: "signed/copied", digest: copiedDigest, key: keys.file("good.key"),
                                   claimedDigest: appDigest)
            try CosignFixture.sign(registry: registry, repository: "signed/rsa", digest: rsaDigest, key: keys.file("rsa.key"))
            try CosignFixture.sign(registry: registry, repository: "signed/ed", digest: edDigest, key: keys.file("ed.key"))
        } catch { fatalError("signed upstream fixture: \(error)") }
    }

    override class func tearDown() {
        registry = nil
        keys = nil
        super.tearDown()
    }

    private func spec(_ images: String, in work: TemporaryDirectory) throws -> String {
        try work.write("airgap.yaml", "images:\n\(images)\n")
    }

    private func hex(_ digest: String) -> String { String(digest.dropFirst("sha256:".count)) }

    /// The SHA-256 of the DER public key, computed by openssl (a peer), as the lock names keys.
    private func fingerprint(_ publicKey: String) throws -> String {
        let der = try Command.check("/bin/sh", ["-c", "openssl pkey -pubin -in '\(publicKey)' -outform DER | sha256sum"]).stdout
        return "sha256:" + der.prefix(64)
    }

    private func lockImages(_ path: String) throws -> [[String: Any]] {
        let lock = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
        return try XCTUnwrap(lock["images"] as? [[String: Any]])
    }

    func testSignedAndAttestedImagePacksWithTheRightKeyAndBundlesSignatureAndReferrer() throws {
        let work = try TemporaryDirectory()
        let airgap = try AirgapRunner()
        let spec = try spec("  - ref: \(host)/signed/app:1\n    platforms: all\n    verify: {key: \(key("good.pub"))}", in: work)
        try airgap.check(["pack", "--spec", spec, "--insecure-registry", host, "-o", work.file("bundle.tar")])

        let image = try XCTUnwrap(try lockImages(work.file("bundle.lock")).first)
        let verified = try XCTUnwrap(image["verifiedBy"] as? [[String: Any]])
        XCTAssertEqual(verified.count, 1)
        XCTAssertEqual(verified.first?["key"] as? String, try fingerprint(key("good.pub")))
        XCTAssertEqual(verified.first?["digest"] as? String, Self.appDigest)
        let signatures = try XCTUnwrap(image["signatures"] as? [[String: Any]])
        XCTAssertEqual(Set(signatures.compactMap { $0["kind"] as? String }), ["sig", "referrers"])

        // The bundle holds both, byte for byte as upstream serves them (skopeo reads the archive).
        let sigRef = "\(host)/signed/app:sha256-\(hex(Self.appDigest)).sig"
        let fromBundle = try Command.check("skopeo", ["inspect", "--raw", "oci-archive:\(work.file("bundle.tar")):\(sigRef)"]).stdout
        XCTAssertEqual(Digest.sha256(of: Data(fromBundle.utf8)).description, Self.signatureDigest)
        let referrersRef = "\(host)/signed/app:sha256-\(hex(Self.appDigest))"
        let referrers = try Command.check("skopeo", ["inspect", "--raw", "oci-archive:\(work.file("bundle.tar")):\(referrersRef)"]).stdout
        XCTAssertTrue(referrers.contains(Self.attestationDigest), referrers)

        let inspect = try airgap.check(["inspect", work.file("bundle.tar")]).stdout
        XCTAssertTrue(inspect.contains("signature:sig"), inspect)
        XCTAssertTrue(inspect.contains("signature:referrers"), inspect)
        XCTAssertTrue(inspect.contains(sigRef), inspect)
        try airgap.check(["verify", work.file("bundle.tar")])
    }

    func testPushPutsTheSigTagAndTheReferrerIntoTheInternalRegistryWithDigestsUnchanged() throws {
        let work = try TemporaryDirectory()
        let airgap = try AirgapRunner()
        let spec = try spec("  - ref: \(host)/signed/app:1\n    platforms: all\n    verify: {key: \(key("good.pub"))}", in: work)
        try airgap.check(["pack", "--spec", spec, "--insecure-registry", host, "-o", work.file("bundle.tar")])
        let enclave = try RegistryServer()
        defer { enclave.stop() }
        try airgap.check(["push", work.file("bundle.tar"), "--registry", enclave.host, "--plain-http", "--prefix", "mirror"])

        let sig = try XCTUnwrap(try CosignFixture.rawManifest("\(enclave.host)/mirror/signed/app:sha256-\(hex(Self.appDigest)).sig"))
        XCTAssertEqual(Digest.sha256(of: Data(sig.utf8)).description, Self.signatureDigest)
        // Debian's distribution 2.8 has no referrers API: the fallback tag lists the referrer,
        // which is there by digest with its subject unchanged.
        let index = try XCTUnwrap(try CosignFixture.rawManifest("\(enclave.host)/mirror/signed/app:sha256-\(hex(Self.appDigest))"))
        XCTAssertTrue(index.contains(Self.attestationDigest), index)
        let referrer = try XCTUnwrap(try CosignFixture.rawManifest("\(enclave.host)/mirror/signed/app@\(Self.attestationDigest)"))
        XCTAssertEqual(Digest.sha256(of: Data(referrer.utf8)).description, Self.attestationDigest)
        XCTAssertTrue(referrer.contains("\"subject\":{\"digest\":\"\(Self.appDigest)\""), referrer)
        let app = try XCTUnwrap(try CosignFixture.rawManifest("\(enclave.host)/mirror/signed/app:1"))
        XCTAssertEqual(Digest.sha256(of: Data(app.utf8)).description, Self.appDigest)
    }

    private func assertLockRefuses(_ image: String, key: String, contains expected: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let work = try TemporaryDirectory()
        let airgap = try AirgapRunner()
        let spec = try spec("  - ref: \(host)/\(image)\n    platforms: all", in: work)
        let result = try airgap.run(["lock", "--spec", spec, "--insecure-registry", host, "--verify-key", key])
        XCTAssertEqual(result.status, 1, result.stderr, file: file, line: line)
        let lines = result.stderr.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, result.stderr, file: file, line: line)
        for text in expected + ["\(host)/\(image)", URL(fileURLWithPath: key).lastPathComponent] {
            XCTAssertTrue(result.stderr.contains(text), "\(text) not in: \(result.stderr)", file: file, line: line)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: work.file("bundle.lock")), "no lock is written", file: file, line: line)
    }

    func testLockRefusesAnImageSignedWithAnotherKey() throws {
        try assertLockRefuses("signed/app:1", key: key("other.pub"), contains: ["signed with another key", "sha256-\(hex(Self.appDigest)).sig"])
    }

    func testLockRefusesAnUnsignedImage() throws {
        try assertLockRefuses("plain/unsigned:1", key: key("good.pub"), contains: ["no cosign signature for \(Self.unsignedDigest)"])
    }

    func testLockRefusesASignatureOverAnotherDigest() throws {
        try assertLockRefuses("signed/copied:1", key: key("good.pub"), contains: ["signs \(Self.appDigest), not \(Self.copiedDigest)"])
    }

    func testRSAAndEd25519CosignSignaturesVerify() throws {
        let work = try TemporaryDirectory()
        let airgap = try AirgapRunner()
        let spec = try spec("""
          - ref: \(host)/signed/rsa:1
            verify: {key: \(key("rsa.pub"))}
          - ref: \(host)/signed/ed:1
            verify: {key: \(key("ed.pub"))}
        """, in: work)
        try airgap.check(["lock", "--spec", spec, "--insecure-registry", host])
        let types = try lockImages(work.file("bundle.lock")).compactMap { ($0["verifiedBy"] as? [[String: Any]])?.first?["keyType"] as? String }
        XCTAssertEqual(types.sorted(), ["ed25519", "rsa"])
        // The keys swapped: each signature fails with the other's key.
        let swapped = try work.write("swapped.yaml", "images:\n  - ref: \(host)/signed/rsa:1\n    verify: {key: \(key("ed.pub"))}\n")
        XCTAssertEqual(try airgap.run(["lock", "--spec", swapped, "--lock", work.file("swapped.lock"), "--insecure-registry", host]).status, 1)
    }

    func testNoSignaturesLeavesThemOutOfLockAndBundle() throws {
        let work = try TemporaryDirectory()
        let airgap = try AirgapRunner()
        let spec = try spec("  - ref: \(host)/signed/app:1\n    platforms: all", in: work)
        try airgap.check(["pack", "--spec", spec, "--insecure-registry", host, "--no-signatures", "-o", work.file("bundle.tar")])
        let image = try XCTUnwrap(try lockImages(work.file("bundle.lock")).first)
        XCTAssertNil(image["signatures"])
        let inspect = try airgap.check(["inspect", work.file("bundle.tar")]).stdout
        XCTAssertFalse(inspect.contains("\nsignature:"), inspect)
        // A lock that pins signatures is not packed without them.
        let signed = try work.write("signed.yaml", "images:\n  - ref: \(host)/signed/app:1\n    platforms: all\n")
        try airgap.check(["lock", "--spec", signed, "--lock", work.file("signed.lock"), "--insecure-registry", host])
        let refused = try airgap.run(["pack", "--spec", signed, "--lock", work.file("signed.lock"), "--insecure-registry", host,
                                      "--no-signatures", "-o", work.file("other.tar")])
        XCTAssertEqual(refused.status, 1)
        XCTAssertTrue(refused.stderr.contains("pins 2 signature artifact(s)"), refused.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: work.file("other.tar")))
    }

    func testPackRefusesWhenTheImageWasResignedSinceTheLock() throws {
        let work = try TemporaryDirectory()
        let airgap = try AirgapRunner()
        let layout = work.file("oci")
        let digest = try TestImages.build(layout: layout, ref: "resigned", layers: 1, seed: "resigned")
        try TestImages.push(layout: layout, ref: "resigned", to: Self.registry, repository: "signed/resigned:1")
        try CosignFixture.sign(registry: Self.registry, repository: "signed/resigned", digest: digest, key: key("good.key"))
        let spec = try spec("  - ref: \(host)/signed/resigned:1", in: work)
        try airgap.check(["lock", "--spec", spec, "--insecure-registry", host])
        try CosignFixture.sign(registry: Self.registry, repository: "signed/resigned", digest: digest, key: key("other.key"))
        let result = try airgap.run(["pack", "--spec", spec, "--insecure-registry", host, "-o", work.file("bundle.tar")])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("sha256-\(hex(digest)).sig moved from"), result.stderr)
    }
}
