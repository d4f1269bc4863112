import AirgapTestSupport
import Foundation
import Manifests

/// One bundle as the connected side packs it for the Flink CDC deployment, built once per test
/// process and shared (packing costs seconds): a Flink-like image for linux/amd64 + arm64 (gzip
/// layers, FLINK_VERSION=1.17.1, lib/flink-json and flink-dist), the seed's two connector JARs
/// from a Maven repository on loopback, and the repository's own charts/flink-cdc (copied, and
/// a `notes.bak` added that its .helmignore leaves out). Only `bundle.tar` and
/// `bundle.tar.sha256` are meant to cross; `bundle.lock` stays here for the tests to compare.
final class FlinkKitFixture {
    static let shared: FlinkKitFixture = {
        do { return try FlinkKitFixture() } catch { fatalError("flink kit fixture: \(error)") }
    }()

    let work: TemporaryDirectory
    let lock: Lockfile
    var bundle: String { work.file("bundle.tar") }
    var checksum: String { work.file("bundle.tar.sha256") }
    static let flink = "docker.io/library/flink:1.17.1"
    static let kafka = "org.apache.flink:flink-sql-connector-kafka:1.17.1"
    static let chart = "charts/flink-cdc:0.1.0"

    private init() throws {
        work = try TemporaryDirectory("flink-kit")
        let upstream = try RegistryServer()
        defer { upstream.stop() }
        try TestImages.build(layout: work.file("oci"), ref: "flink", platforms: ["linux/amd64", "linux/arm64"], layers: 2, seed: "kit",
                             env: ["FLINK_VERSION=1.17.1"], files: ["opt/flink/lib/flink-json-1.17.1.jar", "opt/flink/lib/flink-dist-1.17.1.jar"])
        try TestImages.push(layout: work.file("oci"), ref: "flink", to: upstream, repository: "library/flink:1.17.1")
        try TestArtifacts.publish(["com.ververica:flink-sql-connector-sqlserver-cdc:2.4.2", Self.kafka], in: work.file("maven"))
        let maven = try StaticHTTPServer(directory: work.file("maven"))
        try Command.check("cp", ["-R", "\(Paths.repositoryRoot)/charts/flink-cdc", work.file("flink-cdc")])
        _ = try work.write("flink-cdc/notes.bak", "left out by .helmignore\n")
        let spec = try work.write("airgap.yaml", """
        images:
          - ref: \(Self.flink)
            platforms: [linux/amd64, linux/arm64]
        jars:
          repository: \(maven.url)
          artifacts:
            - com.ververica:flink-sql-connector-sqlserver-cdc:2.4.2
            - \(Self.kafka)
        charts:
          - path: flink-cdc
        mirrors:
          docker.io: http://\(upstream.host)
        """)
        try AirgapRunner().check(["pack", "--spec", spec, "--output", work.file("bundle.tar")])
        lock = try Lockfile.decode(Data(contentsOf: URL(fileURLWithPath: work.file("bundle.lock"))), path: "bundle.lock")
    }
}
