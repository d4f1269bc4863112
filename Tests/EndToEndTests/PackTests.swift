import AirgapTestSupport
import Foundation
import Manifests
import XCTest

final class PackTests: UpstreamTestCase {
    private let twoImages = """
      - ref: docker.io/library/flink:1.17.1
        platforms: [linux/amd64, linux/arm64]
      - ref: busybox:1
    """

    private func sha256(ofOutput result: CommandResult) -> String {
        Digest.sha256(of: Data(result.stdout.utf8)).description
    }

    func testSkopeoReadsTheBundleAndSeesUpstreamDigestsForSingleAndMultiPlatformImages() throws {
        let work = try TemporaryDirectory()
        let airgap = try AirgapRunner()
        let spec = try upstream.spec(twoImages, in: work)
        try airgap.check(["pack", "--spec", spec, "--output", work.file("bundle.tar")])

        let flinkRaw = try Command.check("skopeo", ["inspect", "--raw", "oci-archive:\(work.file("bundle.tar")):docker.io/library/flink:1.17.1"])
        XCTAssertEqual(sha256(ofOutput: flinkRaw), upstream.flinkDigest, "the index must travel byte for byte")
        let busybox = try Command.check("skopeo", ["inspect", "oci-archive:\(work.file("bundle.tar")):docker.io/library/busybox:1"])
        XCTAssertTrue(busybox.stdout.contains(upstream.busyboxDigest), busybox.stdout)

        // From the bundle into a registry, then compare with what upstream serves.
        let target = try RegistryServer()
        for (ref, repository) in [("docker.io/library/flink:1.17.1", "mirror/flink:1.17.1"), ("docker.io/library/busybox:1", "mirror/busybox:1")] {
            try Command.check("skopeo", ["copy", "--all", "--quiet", "--dest-tls-verify=false",
                                         "oci-archive:\(work.file("bundle.tar")):\(ref)", "docker://\(target.host)/\(repository)"])
        }
        for (copied, original) in [("mirror/flink:1.17.1", "library/flink:1.17.1"), ("mirror/busybox:1", "library/busybox:1")] {
            let copiedRaw = try Command.check("skopeo", ["inspect", "--raw", "--tls-verify=false", "docker://\(target.host)/\(copied)"])
            let originalRaw = try Command.check("skopeo", ["inspect", "--raw", "--tls-verify=false", "docker://\(upstream.registry.host)/\(original)"])
            XCTAssertEqual(sha256(ofOutput: copiedRaw), sha256(ofOutput: originalRaw), copied)
        }
        // Each platform manifest arrived too, under its upstream digest.
        let index = try JSONDecoder().decode(ImageIndex.self, from: Data(flinkRaw.stdout.utf8))
        XCTAssertEqual(index.manifests.count, 2)
        for manifest in index.manifests {
            try Command.check("skopeo", ["inspect", "--raw", "--tls-verify=false", "docker://\(target.host)/mirror/flink@\(manifest.digest)"])
        }
    }

    func testExtractedLayoutPassesOciImageToolAndUmociForEveryReference() throws {
        let work = try TemporaryDirectory()
        let airgap = try AirgapRunner()
        try airgap.check(["pack", "--spec", try upstream.spec(twoImages, in: work), "--output", work.file("bundle.tar")])
        let extracted = work.file("extracted")
        try FileManager.default.createDirectory(atPath: extracted, withIntermediateDirectories: true)
        try Command.check("tar", ["-xf", work.file("bundle.tar"), "-C", extracted])
        for ref in ["docker.io/library/flink:1.17.1", "docker.io/library/busybox:1"] {
            let result = try Command.run("oci-image-tool", ["validate", "--type", "image", "--ref", "name=\(ref)", extracted])
            XCTAssertEqual(result.status, 0, "\(ref): \(result.stdout) \(result.stderr)")
        }
        // umoci lists every reference, and unpacks an image: layers, diff_ids and config agree.
        let listed = try Command.check("umoci", ["ls", "--layout", extracted]).stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(listed.sorted(), ["docker.io/library/busybox:1", "docker.io/library/flink:1.17.1"])
        let unpacked = work.file("unpacked")
        try Command.check("umoci", ["unpack", "--rootless", "--image", "\(extracted):docker.io/library/busybox:1", unpacked])
        XCTAssertTrue(FileManager.default.fileExists(atPath: "\(unpacked)/rootfs/base.bin"))
    }

    func testSeparateCachesGiveByteIdenticalBundlesAndAWarmCacheDownloadsNothing() throws {
        let work = try TemporaryDirectory()
        let airgap = try AirgapRunner()
        let spec = try upstream.spec(twoImages, in: work)
        let first = try airgap.json(["pack", "--spec", spec, "--output", work.file("a.tar"), "--cache", work.file("cache-a"), "--jobs", "1"])
        let second = try airgap.json(["pack", "--spec", spec, "--output", work.file("b.tar"), "--cache", work.file("cache-b"), "--jobs", "8"])
        XCTAssertGreaterThan(first["blobsDownloaded"] as? Int ?? 0, 0)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: work.file("a.tar"))),
                       try Data(contentsOf: URL(fileURLWithPath: work.file("b.tar"))), "same inputs, same bytes")
        XCTAssertEqual(first["sha256"] as? String, second["sha256"] as? String)

        let warm = try airgap.json(["pack", "--spec", spec, "--output", work.file("c.tar"), "--cache", work.file("cache-a")])
        XCTAssertEqual(warm["blobsDownloaded"] as? Int, 0)
        XCTAssertEqual(warm["bytesDownloaded"] as? Int, 0)
        XCTAssertEqual(warm["sha256"] as? String, first["sha256"] as? String)
        // The checksum file is the one sha256sum checks.
        try Command.check("sh", ["-c", "cd \(work.path) && sha256sum -c a.tar.sha256"])
    }

    func testNarrowedIndexLeavesOutAttestationsAndOtherPlatformsAndARegistryAcceptsIt() throws {
        let work = try TemporaryDirectory()
        let airgap = try AirgapRunner()
        let spec = try upstream.spec("  - ref: docker.io/apache/app:2\n    platforms: [linux/arm64, linux/amd64]", in: work)
        let summary = try airgap.json(["pack", "--spec", spec, "--output", work.file("bundle.tar")])
        let image = try XCTUnwrap((summary["entries"] as? [[String: Any]])?.first)
        XCTAssertEqual(image["upstreamDigest"] as? String, upstream.appDigest)
        XCTAssertNotEqual(image["digest"] as? String, upstream.appDigest, "a narrowed index is a new document")
        XCTAssertEqual(image["platforms"] as? [String], ["linux/amd64", "linux/arm64"])

        let raw = try Command.check("skopeo", ["inspect", "--raw", "oci-archive:\(work.file("bundle.tar")):docker.io/apache/app:2"])
        let index = try JSONDecoder().decode(ImageIndex.self, from: Data(raw.stdout.utf8))
        XCTAssertEqual(index.manifests.compactMap(\.platform?.architecture), ["amd64", "arm64"])
        XCTAssertEqual(index.annotations?[AnnotationKey.airgapUpstreamDigest], upstream.appDigest)

        let target = try RegistryServer()
        try Command.check("skopeo", ["copy", "--all", "--quiet", "--dest-tls-verify=false",
                                     "oci-archive:\(work.file("bundle.tar")):docker.io/apache/app:2", "docker://\(target.host)/apache/app:2"])
        try airgap.check(["verify", work.file("bundle.tar")])
    }

    func testOnePlatformOfAnIndexIsBundledAsThatPlatformsManifest() throws {
        let work = try TemporaryDirectory()
        let airgap = try AirgapRunner()
        let spec = try upstream.spec("  - ref: docker.io/library/flink:1.17.1\n    platforms: [linux/arm64]", in: work)
        let summary = try airgap.json(["pack", "--spec", spec, "--output", work.file("bundle.tar")])
        let upstreamIndex = try Command.check("skopeo", ["inspect", "--raw", "--tls-verify=false", "docker://\(upstream.registry.host)/library/flink:1.17.1"])
        let index = try JSONDecoder().decode(ImageIndex.self, from: Data(upstreamIndex.stdout.utf8))
        let arm64 = try XCTUnwrap(index.manifests.first { $0.platform?.architecture == "arm64" })
        let image = try XCTUnwrap((summary["entries"] as? [[String: Any]])?.first)
        XCTAssertEqual(image["digest"] as? String, arm64.digest.description)
        XCTAssertEqual(image["mediaType"] as? String, MediaType.ociManifest)
    }

    func testMissingPlatformNamesWhatTheIndexOffersAndWritesNoBundle() throws {
        let work = try TemporaryDirectory()
        let airgap = try AirgapRunner()
        let spec = try upstream.spec("  - ref: docker.io/library/flink:1.17.1\n    platforms: [linux/ppc64le]", in: work)
        let result = try airgap.run(["pack", "--spec", spec, "--output", work.file("bundle.tar")])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("docker.io/library/flink:1.17.1: no linux/ppc64le image"), result.stderr)
        XCTAssertTrue(result.stderr.contains("linux/amd64, linux/arm64"), result.stderr)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, "one line: \(result.stderr)")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: work.path), ["airgap.yaml"])
    }

    func testUnknownTagFailsNamingTheReferenceAndLeavesNoTarball() throws {
        let work = try TemporaryDirectory()
        let airgap = try AirgapRunner()
        let spec = try upstream.spec("  - ref: docker.io/library/flink:9.9.9", in: work)
        let result = try airgap.run(["pack", "--spec", spec, "--output", work.file("bundle.tar")])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("docker.io/library/flink:9.9.9: not found in the registry"), result.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: work.path), ["airgap.yaml"])
    }

    func testMisspeltSpecKeyIsRefusedWithFileAndKey() throws {
        let work = try TemporaryDirectory()
        let airgap = try AirgapRunner()
        let spec = try work.write("airgap.yaml", "images:\n  - ref: flink:1.17.1\n    platform: linux/amd64\n")
        let result = try airgap.run(["pack", "--spec", spec, "--output", work.file("bundle.tar")])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("\(spec): images[0].platform: unknown key"), result.stderr)
    }

    func testPlainHTTPIsRefusedUnlessTheRegistryIsNamedInsecure() throws {
        let work = try TemporaryDirectory()
        let airgap = try AirgapRunner()
        let host = upstream.registry.host
        let spec = try work.write("airgap.yaml", "images:\n  - ref: \(host)/library/busybox:1\n")
        let refused = try airgap.run(["pack", "--spec", spec, "--output", work.file("bundle.tar")])
        XCTAssertEqual(refused.status, 1)
        XCTAssertTrue(refused.stderr.contains("--insecure-registry \(host)"), refused.stderr)
        try airgap.check(["pack", "--spec", spec, "--output", work.file("bundle.tar"), "--insecure-registry", host])
    }

    func testUsageErrorsExitTwo() throws {
        let airgap = try AirgapRunner()
        XCTAssertEqual(try airgap.run(["pack", "--jobs", "0"]).status, 2)
        XCTAssertEqual(try airgap.run(["verify"]).status, 2)
        XCTAssertEqual(try airgap.run(["pack", "--mirror", "nonsense"]).status, 2)
        XCTAssertEqual(try airgap.run(["--version"]).status, 0)
    }
}
