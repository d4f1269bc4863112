import AirgapTestSupport
import Foundation
import XCTest

/// One plain-HTTP upstream registry holding the test images, started once per test class:
/// - `library/flink:1.17.1`: linux/amd64 + linux/arm64 index (shared base layer),
/// - `library/busybox:1`: a single manifest,
/// - `apache/app:2`: linux/amd64 + linux/arm64 + linux/s390x and an attestation manifest.
final class UpstreamFixture {
    let registry: RegistryServer
    let layouts: TemporaryDirectory
    let flinkDigest: String
    let busyboxDigest: String
    let appDigest: String

    init() throws {
        registry = try RegistryServer()
        layouts = try TemporaryDirectory("layouts")
        let layout = layouts.file("oci")
        flinkDigest = try TestImages.build(layout: layout, ref: "flink", platforms: ["linux/amd64", "linux/arm64"], layers: 3, seed: "flink")
        busyboxDigest = try TestImages.build(layout: layout, ref: "busybox", layers: 2, seed: "busybox")
        appDigest = try TestImages.build(layout: layout, ref: "app", platforms: ["linux/amd64", "linux/arm64", "linux/s390x"],
                                         layers: 2, seed: "app", attestation: true)
        try TestImages.push(layout: layout, ref: "flink", to: registry, repository: "library/flink:1.17.1")
        try TestImages.push(layout: layout, ref: "busybox", to: registry, repository: "library/busybox:1")
        try TestImages.push(layout: layout, ref: "app", to: registry, repository: "apache/app:2")
    }

    /// A spec pulling through this registry as the docker.io mirror.
    func spec(_ images: String, in directory: TemporaryDirectory, name: String = "airgap.yaml") throws -> String {
        try directory.write(name, "images:\n\(images)\nmirrors:\n  docker.io: http://\(registry.host)\n")
    }
}

/// A test case whose tests share one `UpstreamFixture`, started before the class's first test
/// and stopped after its last. A subclass that needs more (a bundle packed from it, a Maven
/// server) calls `super.setUp()` first and `super.tearDown()` last.
class UpstreamTestCase: XCTestCase {
    static var upstream: UpstreamFixture!
    var upstream: UpstreamFixture { Self.upstream }

    override class func setUp() {
        super.setUp()
        do { upstream = try UpstreamFixture() } catch { fatalError("upstream fixture: \(error)") }
    }

    override class func tearDown() {
        upstream = nil
        super.tearDown()
    }
}
