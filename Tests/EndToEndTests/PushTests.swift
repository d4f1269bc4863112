import AirgapTestSupport
import Foundation
import Manifests
import XCTest

/// `airgap push` into an internal registry (distribution with TLS and htpasswd, or plain behind
/// the fault proxy), checked with skopeo, a peer we did not write.
final class PushTests: UpstreamTestCase {
    static var bundleDirectory: TemporaryDirectory!
    static var mavenServer: StaticHTTPServer!
    static var maven: TemporaryDirectory!
    static let user = "pusher", password = "p@ss-w0rd"

    override class func setUp() {
        super.setUp()
        do {
            maven = try TemporaryDirectory("maven")
            try TestArtifacts.publish(["com.ververica:flink-sql-connector-sqlserver-cdc:2.4.2", "org.apache.flink:flink-sql-connector-kafka:1.17.1"],
                                      in: maven.path, options: ["--size", "300000"])
            mavenServer = try StaticHTTPServer(directory: maven.path)
            bundleDirectory = try TemporaryDirectory("bundle")
            try TestArtifacts.chart(in: bundleDirectory, name: "flink-cdc")
            let spec = try bundleDirectory.write("airgap.yaml", """
            images:
              - ref: docker.io/library/flink:1.17.1
                platforms: [linux/amd64, linux/arm64]
              - ref: busybox:1
            jars:
              repository: \(mavenServer.url)
              artifacts:
                - com.ververica:flink-sql-connector-sqlserver-cdc:2.4.2
                - org.apache.flink:flink-sql-connector-kafka:1.17.1
            charts:
              - path: flink-cdc
            mirrors:
              docker.io: http://\(upstream.registry.host)
            """)
            try AirgapRunner().check(["pack", "--spec", spec, "--output", bundleDirectory.file("bundle.tar")])
        } catch { fatalError("push fixture: \(error)") }
    }

    override class func tearDown() {
        mavenServer = nil
        super.tearDown()
    }

    var bundle: String { Self.bundleDirectory.file("bundle.tar") }
    var lock: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: Self.bundleDirectory.file("bundle.lock"))))) as? [String: Any] ?? [:]
    }

    private func secureRegistry() throws -> (RegistryServer, String) {
        let registry = try RegistryServer(tls: true, users: [Self.user: Self.password])
        let auth = try TestImages.authFile(in: registry.directory, host: registry.host, user: Self.user, password: Self.password)
        return (registry, auth)
    }

    /// skopeo against the registry, with its credentials and CA (`copy` takes them as --src-*).
    private func skopeo(_ arguments: [String], registry: RegistryServer) throws -> String {
        let prefix = arguments[0] == "copy" ? "--src-" : "--"
        var options = ["\(prefix)creds", "\(Self.user):\(Self.password)"]
        options += registry.tls ? ["\(prefix)cert-dir", try certDirectory(registry)] : ["\(prefix)tls-verify=false"]
        return try Command.check("skopeo", [arguments[0]] + options + Array(arguments.dropFirst())).stdout
    }

    private func certDirectory(_ registry: RegistryServer) throws -> String {
        let directory = registry.directory.file("certs")
        if !FileManager.default.fileExists(atPath: "\(directory)/ca.crt") {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: registry.caFile, toPath: "\(directory)/ca.crt")
        }
        return directory
    }

    func testPushedImagesKeepTheLockedDigestsAndTheChartItsHelmTypes() throws {
        let (registry, auth) = try secureRegistry()
        let chart = try TemporaryDirectory()
        let chartDirectory = try TestArtifacts.chart(in: chart, name: "flink-cdc")
        _ = try chart.write("flink-cdc/files/libs/stale-0.9.jar", "old")
        let result = try AirgapRunner().check(["push", bundle, "--registry", registry.host, "--prefix", "mirror", "--authfile", auth,
                                               "--ca-file", registry.caFile, "--chart-dir", chartDirectory, "--json"])
        let summary = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(summary["verification"] as? String, "full")
        XCTAssertGreaterThan(summary["blobsSent"] as? Int ?? 0, 0)

        for image in lock["images"] as? [[String: Any]] ?? [] {
            let reference = try Reference(parsing: image["reference"] as! String)
            let bundled = (image["bundled"] as? [String: Any])?["digest"] as? String
            let raw = try skopeo(["inspect", "--raw", "docker://\(registry.host)/mirror/\(reference.repository):\(reference.tag!)"], registry: registry)
            XCTAssertEqual(Digest.sha256(of: Data(raw.utf8)).description, bundled, reference.description)
            for platform in image["manifests"] as? [[String: Any]] ?? [] {
                let digest = platform["digest"] as! String
                let manifest = try skopeo(["inspect", "--raw", "docker://\(registry.host)/mirror/\(reference.repository)@\(digest)"], registry: registry)
                XCTAssertEqual(Digest.sha256(of: Data(manifest.utf8)).description, digest)
            }
        }
        let copied = chart.file("chart-copy")
        _ = try skopeo(["copy", "docker://\(registry.host)/mirror/charts/flink-cdc:0.1.0", "oci:\(copied):chart"], registry: registry)
        let chartManifest = try JSONDecoder().decode(ImageManifest.self, from: Data(try Command.check("skopeo", ["inspect", "--raw", "oci:\(copied):chart"]).stdout.utf8))
        XCTAssertEqual(chartManifest.config.mediaType, "application/vnd.cncf.helm.config.v1+json")
        XCTAssertEqual(chartManifest.layers.map(\.mediaType), ["application/vnd.cncf.helm.chart.content.v1.tar+gzip"])

        // files/libs holds the locked JARs with their locked SHA-256; the stale one is reported.
        for jar in lock["jars"] as? [[String: Any]] ?? [] {
            let name = (jar["coordinates"] as! String).split(separator: ":").dropFirst().joined(separator: "-") + ".jar"
            let data = try Data(contentsOf: URL(fileURLWithPath: "\(chartDirectory)/files/libs/\(name)"))
            XCTAssertEqual(Digest.sha256(of: data).description, jar["sha256"] as? String, name)
        }
        XCTAssertEqual(summary["strayJars"] as? [String], ["stale-0.9.jar"])
        XCTAssertTrue(FileManager.default.fileExists(atPath: "\(chartDirectory)/files/libs/stale-0.9.jar"), "kept without --prune")
        let values = try String(contentsOfFile: "\(chartDirectory)/values-airgap.yaml", encoding: .utf8)
        XCTAssertTrue(values.contains("imageRegistry: \"\(registry.host)/mirror\""), values)
        XCTAssertTrue(values.contains("repository: \"library/flink\""), values)
        let flinkDigest = ((lock["images"] as? [[String: Any]])?.first { ($0["reference"] as? String)?.contains("flink") == true }?["bundled"] as? [String: Any])?["digest"] as? String
        XCTAssertTrue(values.contains("digest: \"\(flinkDigest ?? "?")\""), values)
        XCTAssertTrue(values.contains("repository: \"flink-cdc-libs\""), "the libs image: \(values)")

        // The libs image holds the JARs under /libs on top of the Flink layers, for each platform.
        let libsIndex = try JSONDecoder().decode(ImageIndex.self, from: Data(try skopeo(["inspect", "--raw", "docker://\(registry.host)/mirror/flink-cdc-libs:1.17.1"], registry: registry).utf8))
        XCTAssertEqual(libsIndex.manifests.compactMap(\.platform?.architecture), ["amd64", "arm64"])

        // The same push again sends nothing.
        let again = try AirgapRunner().check(["push", bundle, "--registry", registry.host, "--prefix", "mirror", "--authfile", auth,
                                              "--ca-file", registry.caFile, "--json"])
        let second = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(again.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(second["blobsSent"] as? Int, 0)
        XCTAssertEqual(second["manifestsPut"] as? Int, 0)
        XCTAssertEqual(second["verification"] as? String, "graph", "nothing to write, so no full read of the bundle")

        // --prune removes what the lock does not name.
        try AirgapRunner().check(["push", bundle, "--registry", registry.host, "--prefix", "mirror", "--authfile", auth,
                                  "--ca-file", registry.caFile, "--chart-dir", chartDirectory, "--prune"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(chartDirectory)/files/libs/stale-0.9.jar"))
    }

    func testTamperedBundleIsRefusedBeforeAnyWrite() throws {
        let (registry, auth) = try secureRegistry()
        let work = try TemporaryDirectory()
        let tampered = work.file("bundle.tar")
        try FileManager.default.copyItem(atPath: bundle, toPath: tampered)
        let layer = try XCTUnwrap(try Command.check("tar", ["-tf", tampered]).stdout.split(separator: "\n").map(String.init).first { name in
            name.hasPrefix("blobs/sha256/") && name.count > 20 && (FileManager.default.fileExists(atPath: Self.upstream.layouts.file("oci/\(name)")))
                && ((try? FileManager.default.attributesOfItem(atPath: Self.upstream.layouts.file("oci/\(name)"))[.size] as? Int) ?? 0) > 10_000
        })
        try Tamper.run(["flip", tampered, layer])
        let result = try AirgapRunner().run(["push", tampered, "--registry", registry.host, "--authfile", auth, "--ca-file", registry.caFile])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains(layer) && result.stderr.contains("content hashes to"), result.stderr)
        let writes = registry.accessLog().split(separator: "\n").filter { $0.contains("\"PUT ") || $0.contains("\"POST ") || $0.contains("\"PATCH ") || $0.contains("\"DELETE ") }
        XCTAssertEqual(writes, [], "the registry received a write")
        let tags = try Command.run("skopeo", ["list-tags", "--creds", "\(Self.user):\(Self.password)", "--cert-dir", try certDirectory(registry),
                                              "docker://\(registry.host)/library/flink"])
        XCTAssertTrue(tags.status != 0 && tags.stderr.contains("404"), "no repository was created: \(tags.stdout) \(tags.stderr)")
    }

    func testWrongPasswordAndUnknownCAFailWithOneClearLine() throws {
        let (registry, _) = try secureRegistry()
        let work = try TemporaryDirectory()
        let wrong = try TestImages.authFile(in: work, host: registry.host, user: Self.user, password: "nope")
        let denied = try AirgapRunner().run(["push", bundle, "--registry", registry.host, "--authfile", wrong, "--ca-file", registry.caFile])
        XCTAssertEqual(denied.status, 1)
        XCTAssertTrue(denied.stderr.contains("credentials from \(wrong) were rejected"), denied.stderr)
        XCTAssertEqual(denied.stderr.split(separator: "\n").count, 1, denied.stderr)

        let auth = try TestImages.authFile(in: work, host: registry.host, user: Self.user, password: Self.password)
        let untrusted = try AirgapRunner().run(["push", bundle, "--registry", registry.host, "--authfile", auth])
        XCTAssertEqual(untrusted.status, 1)
        XCTAssertTrue(untrusted.stderr.contains("TLS failed") && untrusted.stderr.contains("--ca-file"), untrusted.stderr)

        // --username with --password-stdin works where the auth file does not.
        let process = try Command.run(Paths.airgapBinary, ["push", bundle, "--registry", registry.host, "--username", Self.user,
                                                           "--password-stdin", "--ca-file", registry.caFile],
                                      environment: try AirgapRunner().environment, input: Data("\(Self.password)\n".utf8))
        XCTAssertEqual(process.status, 0, process.stderr)
    }

    private func pushThrough(_ options: [String], extra: [String] = []) throws -> (CommandResult, FaultProxy, RegistryServer) {
        let registry = try RegistryServer()
        let proxy = try FaultProxy(upstream: registry, options: options)
        let result = try AirgapRunner().run(["push", bundle, "--registry", proxy.host, "--plain-http", "--jobs", "1"] + extra)
        return (result, proxy, registry)
    }

    private func assertComplete(_ registry: RegistryServer, file: StaticString = #filePath, line: UInt = #line) throws {
        for image in lock["images"] as? [[String: Any]] ?? [] {
            let reference = try Reference(parsing: image["reference"] as! String)
            let raw = try Command.check("skopeo", ["inspect", "--raw", "--tls-verify=false", "docker://\(registry.host)/\(reference.repository):\(reference.tag!)"]).stdout
            XCTAssertEqual(Digest.sha256(of: Data(raw.utf8)).description, (image["bundled"] as? [String: Any])?["digest"] as? String, file: file, line: line)
        }
        // skopeo copies each image out, fetching and checking every blob.
        try Command.check("skopeo", ["copy", "--all", "--quiet", "--src-tls-verify=false", "docker://\(registry.host)/library/flink:1.17.1",
                                     "oci:\(NSTemporaryDirectory())check-\(UUID()):x"])
    }

    func testServerErrorsOnUploadAreRetried() throws {
        let (result, proxy, registry) = try pushThrough(["--fail-substring", "/blobs/uploads/", "--fail-method", "PUT", "--fail-status", "500", "--fail-count", "2"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(proxy.requests().filter { $0["status"] as? Int == 500 }.count, 2)
        try assertComplete(registry)
    }

    func testConnectionDroppedMidUploadIsRetried() throws {
        let (result, proxy, registry) = try pushThrough(["--drop-upload-after", "20000"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(proxy.requests().contains { $0["event"] as? String == "dropped-upload" })
        try assertComplete(registry)
    }

    func testChunkedUploadResumesFromTheRangeTheRegistryReports() throws {
        // 16 KiB chunks; the first chunk is cut after 10000 bytes, which the registry keeps.
        let (result, proxy, registry) = try pushThrough(["--drop-upload-after", "10000", "--drop-upload-method", "PATCH", "--forward-partial"],
                                                        extra: ["--chunk-size", "16384"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let requests = proxy.requests()
        XCTAssertTrue(requests.contains { $0["event"] as? String == "dropped-upload" && ($0["path"] as? String)?.contains("/blobs/uploads/") == true })
        XCTAssertTrue(requests.contains { $0["method"] as? String == "GET" && ($0["path"] as? String)?.contains("/blobs/uploads/") == true },
                      "asked the registry how much of the upload it kept")
        XCTAssertTrue(requests.contains { $0["method"] as? String == "PATCH" }, "sent in chunks")
        try assertComplete(registry)
    }

    func testKilledPushCompletesWhenRunAgain() throws {
        let registry = try RegistryServer()
        let proxy = try FaultProxy(upstream: registry, options: ["--delay-substring", "/blobs/uploads/", "--delay", "0.2"])
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Paths.airgapBinary)
        process.arguments = ["push", bundle, "--registry", proxy.host, "--plain-http", "--jobs", "1", "--quiet"]
        process.environment = try AirgapRunner().environment
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline, !proxy.requests().contains(where: { $0["method"] as? String == "PUT" && $0["status"] as? Int == 201 }) {
            usleep(20_000)
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationReason, .uncaughtSignal, "killed in the middle, not finished")

        let again = try AirgapRunner().check(["push", bundle, "--registry", proxy.host, "--plain-http", "--json"])
        let summary = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(again.stdout.utf8)) as? [String: Any])
        XCTAssertGreaterThan(summary["blobsSkipped"] as? Int ?? 0, 0, "what got there before the kill is not sent again")
        try assertComplete(registry)
    }

    func testDockerTypedManifestListKeepsItsDigestsThroughPackAndPushWithALibsImage() throws {
        let upstream = try RegistryServer()
        let layouts = try TemporaryDirectory("layouts")
        try TestImages.build(layout: layouts.file("oci"), ref: "flink", platforms: ["linux/amd64", "linux/arm64"], layers: 2, seed: "docker")
        try TestImages.push(layout: layouts.file("oci"), ref: "flink", to: upstream, repository: "library/flink:1.17.1", dockerFormat: true)
        let original = try Command.check("skopeo", ["inspect", "--raw", "--tls-verify=false", "docker://\(upstream.host)/library/flink:1.17.1"]).stdout
        XCTAssertTrue(original.contains("application/vnd.docker.distribution.manifest.list.v2+json"))

        let work = try TemporaryDirectory()
        let chart = try TestArtifacts.chart(in: work, name: "flink-cdc")
        let spec = try work.write("airgap.yaml", """
        images:
          - ref: docker.io/library/flink:1.17.1
            platforms: [linux/amd64, linux/arm64]
        jars:
          repository: \(Self.mavenServer.url)
          artifacts:
            - org.apache.flink:flink-sql-connector-kafka:1.17.1
        mirrors:
          docker.io: http://\(upstream.host)
        """)
        let airgap = try AirgapRunner()
        try airgap.check(["pack", "--spec", spec, "--output", work.file("bundle.tar")])
        try airgap.check(["verify", work.file("bundle.tar"), "--lock", work.file("bundle.lock")])
        let target = try RegistryServer()
        try airgap.check(["push", work.file("bundle.tar"), "--registry", target.host, "--plain-http", "--chart-dir", chart])
        let pushed = try Command.check("skopeo", ["inspect", "--raw", "--tls-verify=false", "docker://\(target.host)/library/flink:1.17.1"]).stdout
        XCTAssertEqual(Digest.sha256(of: Data(pushed.utf8)), Digest.sha256(of: Data(original.utf8)), "a Docker manifest list travels byte for byte")
        // The libs image built on it is Docker-typed too, and a registry takes it whole.
        try Command.check("skopeo", ["copy", "--all", "--quiet", "--src-tls-verify=false", "docker://\(target.host)/flink-cdc-libs:1.17.1",
                                     "oci:\(work.file("libs")):libs"])
    }

    func testDryRunWritesNothingAndFlattenAndOpenShiftMirrors() throws {
        let registry = try RegistryServer()
        let work = try TemporaryDirectory()
        let dry = try AirgapRunner().check(["push", bundle, "--registry", registry.host, "--plain-http", "--prefix", "flink-project", "--flatten", "--dry-run"])
        XCTAssertTrue(dry.stdout.contains("tag \(registry.host)/flink-project/library-flink:1.17.1"), dry.stdout)
        XCTAssertFalse(registry.accessLog().contains("\"PUT "), "a dry run writes nothing")
        try AirgapRunner().check(["push", bundle, "--registry", registry.host, "--plain-http", "--prefix", "flink-project", "--flatten",
                                  "--openshift-manifests", work.path])
        try Command.check("skopeo", ["inspect", "--raw", "--tls-verify=false", "docker://\(registry.host)/flink-project/library-flink:1.17.1"])
        let written = try FileManager.default.contentsOfDirectory(atPath: work.path).sorted()
        let digestFile = try XCTUnwrap(written.first { $0.hasPrefix("idms-airgap-bundle-") }, "\(written)")
        let digestSet = try String(contentsOfFile: work.file(digestFile), encoding: .utf8)
        XCTAssertTrue(digestSet.contains("kind: ImageDigestMirrorSet"))
        XCTAssertTrue(digestSet.contains("- source: docker.io/library/flink\n      mirrors:\n        - \(registry.host)/flink-project/library-flink"), digestSet)
        let tagFile = try XCTUnwrap(written.first { $0.hasPrefix("itms-airgap-bundle-") }, "\(written)")
        XCTAssertTrue(try String(contentsOfFile: work.file(tagFile), encoding: .utf8).contains("imageTagMirrors:"))
    }
}
