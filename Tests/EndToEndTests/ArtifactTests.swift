import AirgapTestSupport
import Foundation
import Manifests
import XCTest

/// JARs from a Maven repository on loopback and a chart, bundled beside the images and pinned in
/// `bundle.lock`.
final class ArtifactTests: XCTestCase {
    static var upstream: UpstreamFixture!
    static var maven: TemporaryDirectory!
    static var mavenServer: StaticHTTPServer!
    static let sqlserver = "com.ververica:flink-sql-connector-sqlserver-cdc:2.4.2"
    static let kafka = "org.apache.flink:flink-sql-connector-kafka:1.17.1"

    override class func setUp() {
        super.setUp()
        do {
            upstream = try UpstreamFixture()
            maven = try TemporaryDirectory("maven")
            try TestArtifacts.publish([sqlserver, kafka], in: maven.path)
            try TestArtifacts.publish(["org.example:sha1-only:1.0"], in: maven.path, options: ["--checksums", "sha1"])
            try TestArtifacts.publish(["org.example:no-checksum:1.0"], in: maven.path, options: ["--checksums", "none"])
            try TestArtifacts.publish(["org.example:tampered:1.0"], in: maven.path, options: ["--wrong-checksum"])
            try TestArtifacts.publish(["org.example:tampered-sha1:1.0"], in: maven.path, options: ["--wrong-checksum", "--checksums", "sha1"])
            try TestArtifacts.publish(["org.example:html:1.0"], in: maven.path, options: ["--not-a-jar"])
            mavenServer = try StaticHTTPServer(directory: maven.path)
        } catch { fatalError("artifact fixture: \(error)") }
    }

    override class func tearDown() {
        upstream = nil
        mavenServer = nil
        maven = nil
        super.tearDown()
    }

    /// A spec with the two-platform image, the given JARs and the chart at `chart`.
    private func spec(in work: TemporaryDirectory, jars: [String] = [sqlserver, kafka], chart: String = "demo") throws -> String {
        try work.write("airgap.yaml", """
        images:
          - ref: docker.io/library/flink:1.17.1
            platforms: [linux/amd64, linux/arm64]
        jars:
          repository: \(Self.mavenServer.url)
          artifacts:
        \(jars.map { "    - \($0)" }.joined(separator: "\n"))
        charts:
          - path: \(chart)
        mirrors:
          docker.io: http://\(Self.upstream.registry.host)
        """)
    }

    private func lockJSON(_ path: String) throws -> [String: Any] {
        try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
    }

    func testOneBundleHoldsImageJarsAndChartAndOCIToolsSeeThem() throws {
        let work = try TemporaryDirectory()
        try TestArtifacts.chart(in: work)
        let airgap = try AirgapRunner()
        let spec = try spec(in: work)
        try airgap.check(["pack", "--spec", spec, "--output", work.file("bundle.tar")])
        XCTAssertTrue(FileManager.default.fileExists(atPath: work.file("bundle.lock")), "pack wrote the lock beside the spec")

        let verified = try airgap.check(["verify", work.file("bundle.tar"), "--lock", work.file("bundle.lock")])
        XCTAssertTrue(verified.stdout.contains("1 image, 2 JARs, 1 chart"), verified.stdout)
        XCTAssertTrue(verified.stdout.contains("matches airgap/bundle.lock (inside the bundle) and \(work.file("bundle.lock"))"), verified.stdout)

        let inspect = try airgap.check(["inspect", work.file("bundle.tar")]).stdout
        for line in ["image  docker.io/library/flink:1.17.1", "jar    maven/com.ververica/flink-sql-connector-sqlserver-cdc:2.4.2",
                     "jar    maven/org.apache.flink/flink-sql-connector-kafka:1.17.1", "chart  charts/demo:0.1.0"] {
            XCTAssertTrue(inspect.contains(line), "\(line) in:\n\(inspect)")
        }

        // skopeo copies a JAR artifact out; the JAR inside is the one the repository published.
        let copied = work.file("jar-layout")
        try Command.check("skopeo", ["copy", "--quiet", "oci-archive:\(work.file("bundle.tar")):maven/org.apache.flink/flink-sql-connector-kafka:1.17.1", "oci:\(copied):kafka"])
        let jarManifest = try Command.check("skopeo", ["inspect", "--raw", "oci:\(copied):kafka"]).stdout
        let manifest = try JSONDecoder().decode(ImageManifest.self, from: Data(jarManifest.utf8))
        XCTAssertEqual(manifest.artifactType, "application/java-archive")
        XCTAssertEqual(manifest.config.mediaType, MediaType.ociEmpty)
        XCTAssertEqual(manifest.layers.first?.mediaType, "application/java-archive")
        XCTAssertEqual(manifest.layers.first?.annotations?[AnnotationKey.title], "flink-sql-connector-kafka-1.17.1.jar")
        let published = try Data(contentsOf: URL(fileURLWithPath: Self.maven.file("org/apache/flink/flink-sql-connector-kafka/1.17.1/flink-sql-connector-kafka-1.17.1.jar")))
        XCTAssertEqual(manifest.layers.first?.digest, Digest.sha256(of: published))

        // The chart carries Helm's media types, so `helm pull oci://…` works once pushed.
        let chartRaw = try Command.check("skopeo", ["inspect", "--raw", "oci-archive:\(work.file("bundle.tar")):charts/demo:0.1.0"]).stdout
        let chart = try JSONDecoder().decode(ImageManifest.self, from: Data(chartRaw.utf8))
        XCTAssertEqual(chart.config.mediaType, "application/vnd.cncf.helm.config.v1+json")
        XCTAssertEqual(chart.layers.map(\.mediaType), ["application/vnd.cncf.helm.chart.content.v1.tar+gzip"])

        // The lock records what the issue asks of it.
        let lock = try lockJSON(work.file("bundle.lock"))
        XCTAssertEqual(lock["lockVersion"] as? Int, 1)
        let jars = try XCTUnwrap(lock["jars"] as? [[String: Any]])
        XCTAssertEqual(jars.map { $0["coordinates"] as? String }, [Self.sqlserver, Self.kafka])
        XCTAssertEqual((jars[0]["upstreamChecksum"] as? [String: String])?["algorithm"], "sha512")
        XCTAssertEqual(jars[0]["verified"] as? Bool, true)
        let image = try XCTUnwrap((lock["images"] as? [[String: Any]])?.first)
        XCTAssertEqual((image["manifests"] as? [[String: Any]])?.compactMap { $0["platform"] as? String }, ["linux/amd64", "linux/arm64"])
        XCTAssertEqual((image["upstream"] as? [String: Any])?["digest"] as? String, Self.upstream.flinkDigest)
        let chartPin = try XCTUnwrap((lock["charts"] as? [[String: Any]])?.first)
        XCTAssertEqual(chartPin["source"] as? String, "path:demo")
        XCTAssertEqual(chartPin["digest"] as? String, chart.layers.first?.digest.description)
    }

    func testChartArchiveIsHelmShapedAndHonoursHelmignore() throws {
        let work = try TemporaryDirectory()
        try TestArtifacts.chart(in: work)
        let airgap = try AirgapRunner()
        try airgap.check(["pack", "--spec", try spec(in: work), "--output", work.file("bundle.tar")])
        let lock = try lockJSON(work.file("bundle.lock"))
        let digest = try XCTUnwrap((lock["charts"] as? [[String: Any]])?.first?["digest"] as? String)
        let extracted = work.file("x")
        try FileManager.default.createDirectory(atPath: extracted, withIntermediateDirectories: true)
        try Command.check("tar", ["-xf", work.file("bundle.tar"), "-C", extracted, "blobs/sha256/\(digest.dropFirst(7))"])
        let listing = try Command.check("tar", ["-tzf", "\(extracted)/blobs/sha256/\(digest.dropFirst(7))"]).stdout.split(separator: "\n")
        XCTAssertEqual(listing.first, "demo/Chart.yaml", "Chart.yaml first, as helm package writes it")
        XCTAssertEqual(Set(listing), ["demo/Chart.yaml", "demo/.helmignore", "demo/templates/configmap.yaml", "demo/values.yaml"])
    }

    func testSameLockTwoPacksSeparateCachesAreByteIdentical() throws {
        let work = try TemporaryDirectory()
        try TestArtifacts.chart(in: work)
        let airgap = try AirgapRunner()
        let spec = try spec(in: work)
        try airgap.check(["lock", "--spec", spec, "--cache", work.file("cache-lock")])
        let lockBefore = try Data(contentsOf: URL(fileURLWithPath: work.file("bundle.lock")))
        try airgap.check(["pack", "--spec", spec, "--output", work.file("a.tar"), "--cache", work.file("cache-a")])
        try airgap.check(["pack", "--spec", spec, "--output", work.file("b.tar"), "--cache", work.file("cache-b")])
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: work.file("a.tar"))), try Data(contentsOf: URL(fileURLWithPath: work.file("b.tar"))))
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: work.file("bundle.lock"))), lockBefore, "pack leaves an existing lock alone")
        // `lock` again on unchanged upstreams writes the same bytes: the lock is deterministic.
        try airgap.check(["lock", "--spec", spec, "--cache", work.file("cache-lock")])
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: work.file("bundle.lock"))), lockBefore)
    }

    func testRetaggedUpstreamMakesPackRefuseNamingBothDigestsAndLockAcceptsIt() throws {
        let work = try TemporaryDirectory()
        try TestArtifacts.chart(in: work)
        let registry = try RegistryServer()
        let layouts = try TemporaryDirectory("layouts")
        let first = try TestImages.build(layout: layouts.file("oci"), ref: "v1", layers: 2, seed: "before")
        try TestImages.push(layout: layouts.file("oci"), ref: "v1", to: registry, repository: "library/flink:1.17.1")
        let spec = try work.write("airgap.yaml", "images:\n  - ref: docker.io/library/flink:1.17.1\nmirrors:\n  docker.io: http://\(registry.host)\n")
        let airgap = try AirgapRunner()
        try airgap.check(["lock", "--spec", spec])

        let second = try TestImages.build(layout: layouts.file("oci"), ref: "v2", layers: 2, seed: "after")
        try TestImages.push(layout: layouts.file("oci"), ref: "v2", to: registry, repository: "library/flink:1.17.1")
        let refused = try airgap.run(["pack", "--spec", spec, "--output", work.file("bundle.tar")])
        XCTAssertEqual(refused.status, 1)
        XCTAssertTrue(refused.stderr.contains("docker.io/library/flink:1.17.1 moved from \(first) to \(second); run `airgap lock` to accept"), refused.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: work.file("bundle.tar")))

        try airgap.check(["lock", "--spec", spec])
        let packed = try airgap.json(["pack", "--spec", spec, "--output", work.file("bundle.tar")])
        XCTAssertEqual((packed["entries"] as? [[String: Any]])?.first?["digest"] as? String, second)
    }

    func testEditedSpecWithoutRelockIsRefused() throws {
        let work = try TemporaryDirectory()
        try TestArtifacts.chart(in: work)
        let airgap = try AirgapRunner()
        let spec = try spec(in: work)
        try airgap.check(["lock", "--spec", spec])
        _ = try self.spec(in: work, jars: [Self.kafka])
        let result = try airgap.run(["pack", "--spec", spec, "--output", work.file("bundle.tar")])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("\(spec) changed since \(work.file("bundle.lock")) was written"), result.stderr)
    }

    /// Each bad input stops lock and pack with one clear line, and leaves no lock and no tarball.
    private func assertRefused(jars: [String], chart: String = "demo", mentioning expected: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        for verb in ["lock", "pack"] {
            let work = try TemporaryDirectory()
            try TestArtifacts.chart(in: work)
            let result = try AirgapRunner().run([verb, "--spec", try spec(in: work, jars: jars, chart: chart), "--output", work.file("bundle.tar")]
                .filter { verb == "pack" || !["--output", work.file("bundle.tar")].contains($0) })
            XCTAssertEqual(result.status, 1, "\(verb): \(result.stderr)", file: file, line: line)
            XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, "\(verb): one line: \(result.stderr)", file: file, line: line)
            for text in expected {
                XCTAssertTrue(result.stderr.contains(text), "\(verb): expected \"\(text)\" in \(result.stderr)", file: file, line: line)
            }
            let left = try FileManager.default.contentsOfDirectory(atPath: work.path).filter { !["airgap.yaml", "demo"].contains($0) }
            XCTAssertEqual(left, [], "\(verb) left \(left) behind", file: file, line: line)
        }
    }

    func testJarNotMatchingItsPublishedSha512IsRefused() throws {
        try assertRefused(jars: ["org.example:tampered:1.0"], mentioning: [
            "org.example:tampered:1.0", "\(Self.mavenServer.url)/org/example/tampered/1.0/tampered-1.0.jar", "sha512", "refusing it"])
    }

    func testJarNotMatchingItsPublishedSha1IsRefused() throws {
        try assertRefused(jars: ["org.example:tampered-sha1:1.0"], mentioning: ["org.example:tampered-sha1:1.0", "sha1"])
    }

    func testJarWithoutPublishedChecksumIsRefusedUnlessAllowed() throws {
        try assertRefused(jars: ["org.example:no-checksum:1.0"], mentioning: ["no .sha512 or .sha1", "--allow-unverified"])
        let work = try TemporaryDirectory()
        try TestArtifacts.chart(in: work)
        try AirgapRunner().check(["lock", "--spec", try spec(in: work, jars: ["org.example:no-checksum:1.0"]), "--allow-unverified"])
        let jar = try XCTUnwrap((try lockJSON(work.file("bundle.lock"))["jars"] as? [[String: Any]])?.first)
        XCTAssertEqual(jar["verified"] as? Bool, false)
        XCTAssertNil(jar["upstreamChecksum"])
    }

    func testSha1IsUsedWhenNoSha512IsPublished() throws {
        let work = try TemporaryDirectory()
        try TestArtifacts.chart(in: work)
        try AirgapRunner().check(["lock", "--spec", try spec(in: work, jars: ["org.example:sha1-only:1.0"])])
        let jar = try XCTUnwrap((try lockJSON(work.file("bundle.lock"))["jars"] as? [[String: Any]])?.first)
        XCTAssertEqual((jar["upstreamChecksum"] as? [String: String])?["algorithm"], "sha1")
    }

    func testNonZipJarIsRefused() throws {
        try assertRefused(jars: ["org.example:html:1.0"], mentioning: ["org.example:html:1.0", "is not a JAR"])
    }

    func testUnknownCoordinateIsA404NamingIt() throws {
        try assertRefused(jars: ["org.example:absent:9.9"], mentioning: ["org.example:absent:9.9: not found at", "404"])
    }

    func testChartDirectoryWithoutChartYAMLIsRefused() throws {
        try assertRefused(jars: [Self.kafka], chart: "no-such-chart", mentioning: ["no-such-chart: no Chart.yaml"])
    }

    func testVerifyAgainstAnotherLockNamesTheDifference() throws {
        let work = try TemporaryDirectory()
        try TestArtifacts.chart(in: work)
        let airgap = try AirgapRunner()
        try airgap.check(["pack", "--spec", try spec(in: work), "--output", work.file("bundle.tar")])
        let other = try TemporaryDirectory()
        try TestArtifacts.chart(in: other)
        try airgap.check(["lock", "--spec", try spec(in: other, jars: [Self.kafka])])
        let result = try airgap.run(["verify", work.file("bundle.tar"), "--lock", other.file("bundle.lock")])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("index.json: holds maven/com.ververica/flink-sql-connector-sqlserver-cdc:2.4.2, which \(other.file("bundle.lock")) does not pin"), result.stderr)
    }

    func testChartFromAHelmRepositoryIsCheckedAgainstIndexDigest() throws {
        let work = try TemporaryDirectory()
        try TestArtifacts.chart(in: work)
        let airgap = try AirgapRunner()
        // Package the chart once (through a bundle), publish it in a Helm repository layout.
        try airgap.check(["pack", "--spec", try spec(in: work), "--output", work.file("bundle.tar")])
        let digest = try XCTUnwrap((try lockJSON(work.file("bundle.lock"))["charts"] as? [[String: Any]])?.first?["digest"] as? String)
        let repo = try TemporaryDirectory("helmrepo")
        try Command.check("tar", ["-xf", work.file("bundle.tar"), "-C", repo.path, "blobs/sha256/\(digest.dropFirst(7))"])
        try FileManager.default.moveItem(atPath: repo.file("blobs/sha256/\(digest.dropFirst(7))"), toPath: repo.file("demo-0.1.0.tgz"))
        let server = try StaticHTTPServer(directory: repo.path)

        func lock(publishing published: String) throws -> CommandResult {
            _ = try repo.write("index.yaml", """
            apiVersion: v1
            entries:
              demo:
                - name: demo
                  version: 0.1.0
                  digest: \(published)
                  urls: [demo-0.1.0.tgz]
            """)
            let spec = try work.write("repo.yaml", """
            images:
              - ref: busybox:1
            charts:
              - repo: \(server.url)
                name: demo
                version: 0.1.0
            mirrors:
              docker.io: http://\(Self.upstream.registry.host)
            """)
            return try airgap.run(["lock", "--spec", spec, "--lock", work.file("repo.lock")])
        }
        XCTAssertEqual(try lock(publishing: String(digest.dropFirst(7))).status, 0)
        let chart = try XCTUnwrap((try lockJSON(work.file("repo.lock"))["charts"] as? [[String: Any]])?.first)
        XCTAssertEqual(chart["digest"] as? String, digest)
        let refused = try lock(publishing: String(repeating: "0", count: 64))
        XCTAssertEqual(refused.status, 1)
        XCTAssertTrue(refused.stderr.contains("but index.yaml says sha256:000"), refused.stderr)
    }

    func testChartFromAnOCIRegistryIsCarriedByteForByte() throws {
        let work = try TemporaryDirectory()
        try TestArtifacts.chart(in: work)
        let airgap = try AirgapRunner()
        try airgap.check(["pack", "--spec", try spec(in: work), "--output", work.file("bundle.tar")])
        let registry = try RegistryServer()
        try Command.check("skopeo", ["copy", "--quiet", "--dest-tls-verify=false", "oci-archive:\(work.file("bundle.tar")):charts/demo:0.1.0",
                                     "docker://\(registry.host)/charts/demo:0.1.0"])
        let spec = try work.write("oci.yaml", """
        images:
          - ref: busybox:1
        charts:
          - oci: oci://\(registry.host)/charts/demo
            version: 0.1.0
        mirrors:
          docker.io: http://\(Self.upstream.registry.host)
        """)
        try airgap.check(["pack", "--spec", spec, "--lock", work.file("oci.lock"), "--output", work.file("oci.tar"), "--insecure-registry", registry.host])
        let original = try Command.check("skopeo", ["inspect", "--raw", "oci-archive:\(work.file("bundle.tar")):charts/demo:0.1.0"]).stdout
        let carried = try Command.check("skopeo", ["inspect", "--raw", "oci-archive:\(work.file("oci.tar")):charts/demo:0.1.0"]).stdout
        XCTAssertEqual(carried, original)
    }
}
