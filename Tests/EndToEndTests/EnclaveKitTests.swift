import AirgapTestSupport
import Foundation
import Manifests
import XCTest

/// The three files that cross the gap — the release binary, `bundle.tar`, `bundle.tar.sha256` —
/// are enough on a minimal Debian 12 host (only libcurl4, libarchive13, libssl3 installed; no
/// Swift, no source checkout, no bundle.lock): the enclave side runs there end to end against a
/// TLS + htpasswd registry on loopback.
final class EnclaveKitTests: XCTestCase {
    static var work: TemporaryDirectory!
    static var upstream: RegistryServer!
    static var maven: StaticHTTPServer!
    static let user = "enclave", password = "s3cret-pass"

    /// A Flink-like image (FLINK_VERSION=1.17.1, lib/flink-json), the two connectors of the seed
    /// and a flink-cdc chart, packed on the "connected" side (the host).
    override class func setUp() {
        super.setUp()
        guard EnclaveRoot.unavailableReason() == nil else { return }
        do {
            work = try TemporaryDirectory("kit")
            upstream = try RegistryServer()
            try TestImages.build(layout: work.file("oci"), ref: "flink", platforms: ["linux/amd64", "linux/arm64"], layers: 2, seed: "kit",
                                 env: ["FLINK_VERSION=1.17.1"], files: ["opt/flink/lib/flink-json-1.17.1.jar", "opt/flink/lib/flink-dist-1.17.1.jar"])
            try TestImages.push(layout: work.file("oci"), ref: "flink", to: upstream, repository: "library/flink:1.17.1")
            try TestArtifacts.publish(["com.ververica:flink-sql-connector-sqlserver-cdc:2.4.2", "org.apache.flink:flink-sql-connector-kafka:1.17.1"],
                                      in: work.file("maven"))
            maven = try StaticHTTPServer(directory: work.file("maven"))
            try TestArtifacts.chart(in: work, name: "flink-cdc")
            let spec = try work.write("airgap.yaml", """
            images:
              - ref: docker.io/library/flink:1.17.1
                platforms: [linux/amd64, linux/arm64]
            jars:
              repository: \(maven.url)
              artifacts:
                - com.ververica:flink-sql-connector-sqlserver-cdc:2.4.2
                - org.apache.flink:flink-sql-connector-kafka:1.17.1
            charts:
              - path: flink-cdc
            mirrors:
              docker.io: http://\(upstream.host)
            """)
            try AirgapRunner().check(["pack", "--spec", spec, "--output", work.file("bundle.tar")])
        } catch { fatalError("enclave kit fixture: \(error)") }
    }

    override class func tearDown() {
        upstream = nil
        maven = nil
        work = nil
        super.tearDown()
    }

    /// A fresh enclave root holding only the kit: the binary on PATH, the bundle and its checksum
    /// in /root/kit.
    private func enclave() throws -> EnclaveRoot {
        if let reason = EnclaveRoot.unavailableReason() { throw XCTSkip(reason) }
        let enclave = try EnclaveRoot()
        try enclave.install(EnclaveRoot.releaseBinary!, at: "/usr/local/bin/airgap")
        try enclave.install(Self.work.file("bundle.tar"), at: "/root/kit/bundle.tar")
        try enclave.install(Self.work.file("bundle.tar.sha256"), at: "/root/kit/bundle.tar.sha256")
        return enclave
    }

    /// The internal registry (TLS + htpasswd) and its CA inside the enclave root.
    private func internalRegistry(in enclave: EnclaveRoot) throws -> RegistryServer {
        let registry = try RegistryServer(tls: true, users: [Self.user: Self.password])
        try enclave.install(registry.caFile, at: "/root/kit/registry-ca.crt")
        return registry
    }

    func testReleaseBinaryNeedsNoSwiftRuntimeAndSaysWhichCommitItIs() throws {
        let enclave = try enclave()
        let libraries = try enclave.check("ldd", ["/usr/local/bin/airgap"]).stdout
        XCTAssertFalse(libraries.contains("libswift"), libraries)
        XCTAssertFalse(libraries.contains("not found"), "every library resolves on the minimal host:\n\(libraries)")
        let needed = try Command.check("readelf", ["-d", EnclaveRoot.releaseBinary!]).stdout
        XCTAssertFalse(needed.contains("libstdc++"), "libstdc++ is linked in, so GLIBCXX does not set the floor:\n\(needed)")
        let version = try enclave.check("airgap", ["--version"]).stdout
        XCTAssertTrue(version.contains("commit "), version)
        XCTAssertFalse(version.contains("development build"), version)
        let checksum = try enclave.check("sha256sum", ["-c", "bundle.tar.sha256"], directory: "/root/kit").stdout
        XCTAssertTrue(checksum.contains("bundle.tar: OK"), checksum)
    }

    func testVerifyInspectAndPushFromTheKitAlone() throws {
        let enclave = try enclave()
        XCTAssertFalse(enclave.exists("/root/kit/bundle.lock"))
        let verified = try enclave.check("airgap", ["verify", "bundle.tar"], directory: "/root/kit").stdout
        XCTAssertTrue(verified.contains("bundle.tar: OK"), verified)
        XCTAssertTrue(verified.contains("checksum file: match"), verified)
        let inventory = try enclave.check("airgap", ["inspect", "bundle.tar"], directory: "/root/kit").stdout
        XCTAssertTrue(inventory.contains("docker.io/library/flink:1.17.1"), inventory)
        XCTAssertTrue(inventory.contains("maven/com.ververica/flink-sql-connector-sqlserver-cdc:2.4.2"), inventory)

        let registry = try internalRegistry(in: enclave)
        try enclave.check("airgap", ["push", "bundle.tar", "--registry", registry.host, "--prefix", "flink",
                                     "--ca-file", "registry-ca.crt", "--username", Self.user, "--password-stdin"],
                          directory: "/root/kit", input: Data(Self.password.utf8))
        let raw = try Command.check("skopeo", ["inspect", "--raw", "--creds", "\(Self.user):\(Self.password)", "--tls-verify=false",
                                               "docker://\(registry.host)/flink/library/flink:1.17.1"]).stdout
        let lock = try Lockfile.decode(Data(contentsOf: URL(fileURLWithPath: Self.work.file("bundle.lock"))), path: "bundle.lock")
        XCTAssertEqual(Digest.sha256(of: Data(raw.utf8)), lock.images.first?.bundled?.digest)
    }
}
