import AirgapTestSupport
import Foundation
import Manifests
import XCTest

/// Keyless cosign signatures, checked offline: the certificate in the signature must chain to
/// the trust root the spec names and carry the signer and OIDC issuer asked for. The CA, the
/// ten-minute certificate (expired an hour ago, as Fulcio's are by the time anyone packs) and
/// the signature are made by Python `cryptography`.
final class KeylessSignatureTests: XCTestCase {
    static var registry: RegistryServer!
    static var files: TemporaryDirectory!
    static var digest = ""
    static let identity = "release@example.com"
    static let issuer = "https://oidc.example.com"

    var host: String { Self.registry.host }

    override class func setUp() {
        super.setUp()
        do {
            registry = try RegistryServer()
            files = try TemporaryDirectory("keyless")
            _ = try CosignFixture.keylessCA(files.file("fulcio"))
            _ = try CosignFixture.keylessCA(files.file("stranger"))
            let layout = files.file("oci")
            digest = try TestImages.build(layout: layout, ref: "app", layers: 1, seed: "keyless")
            try TestImages.push(layout: layout, ref: "app", to: registry, repository: "team/keyless:1")
            try CosignFixture.signKeyless(registry: registry, repository: "team/keyless", digest: digest, ca: files.file("fulcio"),
                                          identity: identity, issuer: issuer)
        } catch { fatalError("keyless fixture: \(error)") }
    }

    override class func tearDown() {
        registry = nil
        files = nil
        super.tearDown()
    }

    private func lock(root: String, identity: String = identity, issuer: String = issuer) throws -> (CommandResult, TemporaryDirectory) {
        let work = try TemporaryDirectory()
        let spec = try work.write("airgap.yaml", """
        images:
          - ref: \(host)/team/keyless:1
            verify: {certificateRoot: \(root), identity: \(identity), issuer: "\(issuer)"}
        """)
        return (try AirgapRunner().run(["lock", "--spec", spec, "--insecure-registry", host]), work)
    }

    func testKeylessSignatureChainingToTheRootWithTheRightSignerIsAccepted() throws {
        let (result, work) = try lock(root: Self.files.file("fulcio-root.pem"))
        XCTAssertEqual(result.status, 0, result.stderr)
        let lock = try JSONDecoder().decode(Lockfile.self, from: Data(contentsOf: URL(fileURLWithPath: work.file("bundle.lock"))))
        let check = try XCTUnwrap(lock.images.first?.verifiedBy?.first)
        XCTAssertEqual(check.identity, Self.identity)
        XCTAssertEqual(check.issuer, Self.issuer)
        XCTAssertEqual(check.digest.description, Self.digest)
        let root = try Data(contentsOf: URL(fileURLWithPath: Self.files.file("fulcio-root.pem")))
        XCTAssertEqual(check.key, Digest.sha256(of: root).description, "the lock names the trust root the chain was checked against")
    }

    func testKeylessSignatureFromAnotherRootIsRefused() throws {
        let (result, _) = try lock(root: Self.files.file("stranger-root.pem"))
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("does not chain to") && result.stderr.contains("stranger-root.pem"), result.stderr)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
    }

    func testKeylessSignatureByAnotherSignerIsRefused() throws {
        let (result, _) = try lock(root: Self.files.file("fulcio-root.pem"), identity: "someone@example.com")
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("names \(Self.identity), not someone@example.com"), result.stderr)
    }

    func testKeylessSignatureFromAnotherIssuerIsRefused() throws {
        let (result, _) = try lock(root: Self.files.file("fulcio-root.pem"), issuer: "https://accounts.example.org")
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("OIDC issuer is \(Self.issuer), not https://accounts.example.org"), result.stderr)
    }

    func testAKeySignedImageDoesNotSatisfyAKeylessPolicy() throws {
        let work = try TemporaryDirectory()
        let (key, _) = try CosignFixture.keygen(work.file("k"))
        let layout = work.file("oci")
        let digest = try TestImages.build(layout: layout, ref: "keyed", layers: 1, seed: "keyed-for-keyless")
        try TestImages.push(layout: layout, ref: "keyed", to: Self.registry, repository: "team/keyed:1")
        try CosignFixture.sign(registry: Self.registry, repository: "team/keyed", digest: digest, key: key)
        let spec = try work.write("airgap.yaml", """
        images:
          - ref: \(host)/team/keyed:1
            verify: {certificateRoot: \(Self.files.file("fulcio-root.pem")), identity: \(Self.identity), issuer: "\(Self.issuer)"}
        """)
        let result = try AirgapRunner().run(["lock", "--spec", spec, "--insecure-registry", host])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("carries no certificate"), result.stderr)
    }
}
