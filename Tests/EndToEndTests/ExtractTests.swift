import AirgapTestSupport
import Foundation
import Manifests
import XCTest

/// `airgap extract`: a chart, a JAR and an image out of a bundle, in the forms the next tool
/// wants, checked by those tools (oci-image-tool, skopeo, umoci, sha256sum).
final class ExtractTests: XCTestCase {
    var kit: FlinkKitFixture { FlinkKitFixture.shared }

    func testChartIsUnpackedIntoAFolderNamedForItLikeHelmPullUntar() throws {
        let out = try TemporaryDirectory("extract")
        let result = try AirgapRunner().check(["extract", kit.bundle, "flink-cdc", "--output", out.path])
        XCTAssertTrue(result.stdout.contains("\(out.path)/flink-cdc"), result.stdout)
        let chart = try String(contentsOfFile: out.file("flink-cdc/Chart.yaml"), encoding: .utf8)
        XCTAssertTrue(chart.contains("name: flink-cdc"), chart)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out.file("flink-cdc/templates")).sorted(),
                       try FileManager.default.contentsOfDirectory(atPath: "\(Paths.repositoryRoot)/charts/flink-cdc/templates").sorted())
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.file("flink-cdc/notes.bak")), ".helmignore'd at pack time")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out.path), ["flink-cdc"], "no staging folder left behind")

        // Again: the folder of the same chart is replaced whole; a folder that is not it is left alone.
        _ = try out.write("flink-cdc/leftover.txt", "from before")
        try AirgapRunner().check(["extract", kit.bundle, FlinkKitFixture.chart, "--output", out.path])
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.file("flink-cdc/leftover.txt")))
        let other = try TemporaryDirectory("extract")
        _ = try other.write("flink-cdc/Chart.yaml", "apiVersion: v2\nname: something-else\nversion: 1.0.0\n")
        let refused = try AirgapRunner().run(["extract", kit.bundle, "flink-cdc", "--output", other.path])
        XCTAssertEqual(refused.status, 1)
        XCTAssertTrue(refused.stderr.contains("is not the flink-cdc chart"), refused.stderr)
        XCTAssertEqual(try String(contentsOfFile: other.file("flink-cdc/Chart.yaml"), encoding: .utf8).contains("something-else"), true)
    }

    func testJarIsWrittenUnderItsFileNameWithTheSHA256TheLockPins() throws {
        let out = try TemporaryDirectory("extract")
        try AirgapRunner().check(["extract", kit.bundle, FlinkKitFixture.kafka, "--output", out.path])
        let jar = try XCTUnwrap(kit.lock.jars.first { $0.coordinates.description == FlinkKitFixture.kafka })
        let printed = try Command.check("sha256sum", [out.file("flink-sql-connector-kafka-1.17.1.jar")]).stdout
        XCTAssertEqual(printed.split(separator: " ").first.map(String.init), jar.sha256?.encoded)

        // inspect names the same file and SHA-256, so sha256sum output can be matched by eye.
        let detail = try AirgapRunner().check(["inspect", kit.bundle, "flink-sql-connector-kafka-1.17.1.jar"]).stdout
        XCTAssertTrue(detail.contains("file:       flink-sql-connector-kafka-1.17.1.jar"), detail)
        XCTAssertTrue(detail.contains("sha256:     \(jar.sha256!.encoded)"), detail)
    }

    func testImageBecomesAnOCILayoutThatOCIToolsValidateAndSkopeoCopies() throws {
        let out = try TemporaryDirectory("extract")
        let layout = out.file("flink")
        try AirgapRunner().check(["extract", kit.bundle, "flink:1.17.1", "--output", layout])
        let pinned = try XCTUnwrap(kit.lock.images.first?.bundled?.digest)
        try Command.check("oci-image-tool", ["validate", "--type", "image", "--ref", "name=\(FlinkKitFixture.flink)", layout])
        for platform in try XCTUnwrap(kit.lock.images.first?.manifests) {
            // oci-image-tool 1.0.0-rc1 passes an index without looking inside ("unknown media
            // type"): each platform's manifest is validated from a layout of its own.
            let single = out.file("single-\(platform.platform.replacingOccurrences(of: "/", with: "-"))")
            try Command.check("skopeo", ["copy", "--quiet", "--preserve-digests", "oci:\(layout):\(FlinkKitFixture.flink)",
                                         "--override-arch", String(platform.platform.split(separator: "/")[1]), "oci:\(single):image"])
            try Command.check("oci-image-tool", ["validate", "--type", "image", "--ref", "name=image", single])
        }
        let umoci = try Command.check("umoci", ["ls", "--layout", layout]).stdout
        XCTAssertTrue(umoci.contains(FlinkKitFixture.flink), umoci)

        let registry = try RegistryServer()
        try Command.check("skopeo", ["copy", "--all", "--quiet", "--preserve-digests", "--dest-tls-verify=false",
                                     "oci:\(layout):\(FlinkKitFixture.flink)", "docker://\(registry.host)/copied/flink:1.17.1"])
        let raw = try Command.check("skopeo", ["inspect", "--raw", "--tls-verify=false", "docker://\(registry.host)/copied/flink:1.17.1"]).stdout
        XCTAssertEqual(Digest.sha256(of: Data(raw.utf8)), pinned, "the digest the lock pins, unchanged")
    }

    func testInspectOfAnImageShowsEachPlatformsManifestConfigAndLayers() throws {
        let detail = try AirgapRunner().check(["inspect", kit.bundle, "flink:1.17.1"]).stdout
        let image = try XCTUnwrap(kit.lock.images.first)
        XCTAssertTrue(detail.contains("reference:  \(FlinkKitFixture.flink)"), detail)
        XCTAssertTrue(detail.contains("digest:     \(image.bundled!.digest)"), detail)
        for platform in image.manifests {
            XCTAssertTrue(detail.contains("platform \(platform.platform):\n  manifest  \(platform.digest)"), detail)
        }
        XCTAssertEqual(detail.components(separatedBy: "  layer ").count - 1, 2 * image.manifests.count, "two layers per platform:\n\(detail)")
        let json = try AirgapRunner().json(["inspect", kit.bundle, "flink:1.17.1"])
        let platforms = try XCTUnwrap(json["platforms"] as? [[String: Any]])
        XCTAssertEqual(platforms.map { $0["platform"] as? String }, image.manifests.map(\.platform))
        XCTAssertTrue(platforms.allSatisfy { (($0["layers"] as? [[String: Any]]) ?? []).allSatisfy { ($0["size"] as? Int ?? 0) > 0 } })
    }

    func testUnknownReferenceNamesWhatTheBundleHolds() throws {
        let out = try TemporaryDirectory("extract")
        let result = try AirgapRunner().run(["extract", kit.bundle, "redis:7", "--output", out.path])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("holds no redis:7"), result.stderr)
        XCTAssertTrue(result.stderr.contains(FlinkKitFixture.flink), result.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out.path), [], "nothing written")
    }
}
