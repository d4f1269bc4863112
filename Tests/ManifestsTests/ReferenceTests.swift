import Manifests
import XCTest

final class ReferenceTests: XCTestCase {
    func testShortNameNormalisesToDockerHubLibrary() throws {
        let reference = try Reference(parsing: "flink")
        XCTAssertEqual(reference.description, "docker.io/library/flink:latest")
    }

    func testTaggedDockerHubUserImageKeepsItsNamespace() throws {
        let reference = try Reference(parsing: "bitnami/kafka:3.5")
        XCTAssertEqual(reference.registry, "docker.io")
        XCTAssertEqual(reference.repository, "bitnami/kafka")
        XCTAssertEqual(reference.tag, "3.5")
    }

    func testRegistryWithPortIsNotMistakenForATag() throws {
        let reference = try Reference(parsing: "127.0.0.1:5000/library/flink")
        XCTAssertEqual(reference.registry, "127.0.0.1:5000")
        XCTAssertEqual(reference.repository, "library/flink")
        XCTAssertEqual(reference.tag, "latest")
    }

    func testIndexDockerIoIsDockerHub() throws {
        XCTAssertEqual(try Reference(parsing: "index.docker.io/library/flink:1.17.1").description, "docker.io/library/flink:1.17.1")
    }

    func testDigestOnlyReferenceHasNoTag() throws {
        let hex = String(repeating: "a", count: 64)
        let reference = try Reference(parsing: "quay.io/org/app@sha256:\(hex)")
        XCTAssertNil(reference.tag)
        XCTAssertEqual(reference.identifier, "sha256:\(hex)")
        XCTAssertEqual(reference.description, "quay.io/org/app@sha256:\(hex)")
    }

    func testUppercaseRepositoryIsRejectedWithTheReason() {
        XCTAssertThrowsError(try Reference(parsing: "docker.io/Library/flink")) { error in
            XCTAssertTrue("\(error)".contains("\"Library\""), "\(error)")
        }
    }

    func testBadTagAndBadDigestAreRejected() {
        XCTAssertThrowsError(try Reference(parsing: "flink:-bad"))
        XCTAssertThrowsError(try Reference(parsing: "flink@sha256:abc"))
        XCTAssertThrowsError(try Reference(parsing: "flink//x"))
    }
}

final class DigestAndPlatformTests: XCTestCase {
    func testSHA256OfKnownInput() {
        XCTAssertEqual(Digest.sha256(of: Data("abc".utf8)).description,
                       "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    func testDigestRejectsUppercaseAndWrongLength() {
        XCTAssertThrowsError(try Digest(parsing: "sha256:" + String(repeating: "A", count: 64)))
        XCTAssertThrowsError(try Digest(parsing: "sha256:abcd"))
        XCTAssertThrowsError(try Digest(parsing: "md5:" + String(repeating: "a", count: 32)))
    }

    func testArm64WithoutVariantMatchesV8() throws {
        let wanted = try Platform(parsing: "linux/arm64/v8")
        XCTAssertTrue(wanted.accepts(Platform(os: "linux", architecture: "arm64")))
        XCTAssertFalse(try Platform(parsing: "linux/arm/v7").accepts(Platform(os: "linux", architecture: "arm", variant: "v6")))
        XCTAssertTrue(try Platform(parsing: "linux/amd64").accepts(Platform(os: "linux", architecture: "amd64")))
        XCTAssertThrowsError(try Platform(parsing: "linux"))
    }

    func testManifestKindFollowsMediaType() throws {
        let index = Data(#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#.utf8)
        guard case .index = try ManifestDocument(decoding: index, mediaType: nil) else { return XCTFail("not an index") }
        XCTAssertThrowsError(try ManifestDocument(decoding: Data(#"{"schemaVersion":1}"#.utf8), mediaType: nil))
    }
}
