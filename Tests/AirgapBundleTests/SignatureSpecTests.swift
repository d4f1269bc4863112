import AirgapBundle
import Manifests
import XCTest

/// `images[].verify` in airgap.yaml, cosign's tag names, and the SBOM's serial number.
final class SignatureSpecTests: XCTestCase {
    func testVerifyTakesAKeyBesideTheSpecOrAKeylessPolicy() throws {
        let spec = try BundleSpec.parse("""
        images:
          - ref: flink:1.17.1
            verify: {key: keys/flink.pub}
          - ref: busybox:1
            verify: {certificateRoot: /etc/roots.pem, identity: ci@example.com, issuer: "https://oidc.example.com"}
          - ref: quay.io/org/app:2
        """, path: "/work/spec/airgap.yaml")
        XCTAssertEqual(spec.images[0].verifyKey, "/work/spec/keys/flink.pub")
        XCTAssertEqual(spec.images[1].keyless, KeylessPolicy(certificateRoot: "/etc/roots.pem", identity: "ci@example.com", issuer: "https://oidc.example.com"))
        XCTAssertNil(spec.images[2].verifyKey)
        XCTAssertNil(spec.images[2].keyless)
    }

    func testVerifyWithoutAKeyOrWithHalfAPolicyNamesTheKeyPath() {
        for text in ["verify: {keys: a.pub}", "verify: a.pub", "verify: {certificateRoot: r.pem, identity: x}", "verify: {key: a.pub, identity: x}"] {
            XCTAssertThrowsError(try BundleSpec.parse("images:\n  - ref: flink:1\n    \(text)\n", path: "airgap.yaml")) { error in
                XCTAssertTrue("\(error)".contains("images[0].verify"), "\(text): \(error)")
            }
        }
    }

    func testVerifyDoesNotChangeTheSpecDigestSoExistingLocksStayUsable() throws {
        let plain = try BundleSpec.parse("images:\n  - ref: flink:1\n", path: "airgap.yaml")
        let verified = try BundleSpec.parse("images:\n  - ref: flink:1\n    verify: {key: a.pub}\n", path: "airgap.yaml")
        XCTAssertEqual(plain.canonicalDigest, verified.canonicalDigest)
    }

    func testCosignTagsRoundTripAndOtherTagsAreNotSignatures() throws {
        let digest = Digest.sha256(of: Data("image".utf8))
        for kind in Cosign.ArtifactKind.allCases {
            let tag = Cosign.tag(for: digest, kind: kind)
            XCTAssertEqual(Cosign.parseTag(tag)?.subject, digest)
            XCTAssertEqual(Cosign.parseTag(tag)?.kind, kind)
        }
        XCTAssertEqual(Cosign.tag(for: digest, kind: .signature), "sha256-\(digest.encoded).sig")
        for tag in ["1.17.1", "sha256-abc.sig", "sha256-\(digest.encoded).sig.bak", "sha256-\(digest.encoded).referrers"] {
            XCTAssertNil(Cosign.parseTag(tag), tag)
        }
    }

    func testSBOMSerialNumberIsAVersion5UUIDDerivedFromTheLock() throws {
        let lock = Lockfile(airgapVersion: "0.1.0", specDigest: "sha256:x", images: [], jars: [], charts: [])
        let data = try lock.encoded()
        let first = try CycloneDX.document(for: lock, lockData: data)
        XCTAssertEqual(first, try CycloneDX.document(for: lock, lockData: data))
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: first) as? [String: Any])
        let serial = try XCTUnwrap(json["serialNumber"] as? String)
        XCTAssertNotNil(serial.range(of: "^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", options: .regularExpression), serial)
        let other = try CycloneDX.document(for: lock, lockData: data + Data(" ".utf8))
        XCTAssertNotEqual(first, other, "another lock, another serial")
    }
}
