import AirgapTestSupport
import Foundation
import Manifests
import XCTest

/// The three files that cross the gap — the release binary, `bundle.tar`, `bundle.tar.sha256` —
/// are enough on a minimal Debian 12 host (only libcurl4, libarchive13, libssl3 installed; no
/// Swift, no source checkout, no bundle.lock): the enclave side runs there end to end against a
/// TLS + htpasswd registry on loopback.
final class EnclaveKitTests: XCTestCase {
    static let user = "enclave", password = "s3cret-pass"
    var kit: FlinkKitFixture { FlinkKitFixture.shared }

    /// A fresh enclave root holding only the kit: the binary on PATH, the bundle and its checksum
    /// in /root/kit.
    private func enclave() throws -> EnclaveRoot {
        if let reason = EnclaveRoot.unavailableReason() { throw XCTSkip(reason) }
        let enclave = try EnclaveRoot()
        try enclave.install(EnclaveRoot.releaseBinary!, at: "/usr/local/bin/airgap")
        try enclave.install(kit.bundle, at: "/root/kit/bundle.tar")
        try enclave.install(kit.checksum, at: "/root/kit/bundle.tar.sha256")
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

    func testFromTheKitAloneVerifyPushChartOutThenAuditFindsNothing() throws {
        let enclave = try enclave()
        let found = try enclave.check("find", ["/root", "/opt", "/srv", "-name", "bundle.lock", "-o", "-name", "Package.swift", "-o", "-name", "airgap.yaml"]).stdout
        XCTAssertEqual(found, "", "no lock file and no source checkout in the enclave")
        let verified = try enclave.check("airgap", ["verify", "bundle.tar"], directory: "/root/kit").stdout
        XCTAssertTrue(verified.contains("bundle.tar: OK"), verified)
        XCTAssertTrue(verified.contains("checksum file: match"), verified)
        XCTAssertTrue(verified.contains("airgap/bundle.lock (inside the bundle)"), verified)
        let inventory = try enclave.check("airgap", ["inspect", "bundle.tar"], directory: "/root/kit").stdout
        XCTAssertTrue(inventory.contains(FlinkKitFixture.flink), inventory)

        let registry = try internalRegistry(in: enclave)
        let login = ["--ca-file", "registry-ca.crt", "--username", Self.user, "--password-stdin"]
        let pushed = try enclave.check("airgap", ["push", "bundle.tar", "--registry", registry.host, "--prefix", "flink", "--flatten",
                                                  "--max-path-components", "2", "--chart-out", "/root/deploy"] + login,
                                       directory: "/root/kit", input: Data(Self.password.utf8)).stdout
        XCTAssertTrue(pushed.contains("helm install flink-cdc /root/deploy/flink-cdc -f custom-values.yaml -f /root/deploy/flink-cdc/values-airgap.yaml"), pushed)
        let raw = try Command.check("skopeo", ["inspect", "--raw", "--creds", "\(Self.user):\(Self.password)", "--tls-verify=false",
                                               "docker://\(registry.host)/flink/library-flink:1.17.1"]).stdout
        XCTAssertEqual(Digest.sha256(of: Data(raw.utf8)), kit.lock.images.first?.bundled?.digest)

        let audit = try enclave.run("airgap", ["audit", "--bundle", "bundle.tar", "--chart-dir", "/root/deploy/flink-cdc", "--registry", registry.host,
                                               "--prefix", "flink", "--flatten"] + login,
                                    directory: "/root/kit", input: Data(Self.password.utf8))
        XCTAssertEqual(audit.status, 0, audit.stdout + audit.stderr)
        XCTAssertTrue(audit.stdout.contains("audit: no findings (lock, bundle, flink, chart, registry checked; lock: airgap/bundle.lock in bundle.tar)"),
                      audit.stdout + audit.stderr)
    }

    func testFromTheKitAloneExtractAChartAJarAndAnImage() throws {
        let enclave = try enclave()
        try enclave.check("airgap", ["extract", "bundle.tar", "flink-cdc", "--output", "/root/out"], directory: "/root/kit")
        XCTAssertTrue(enclave.exists("/root/out/flink-cdc/Chart.yaml"))
        try enclave.check("airgap", ["extract", "bundle.tar", FlinkKitFixture.kafka, "--output", "/root/out"], directory: "/root/kit")
        let jar = try XCTUnwrap(kit.lock.jars.first { $0.coordinates.description == FlinkKitFixture.kafka })
        let sum = try enclave.check("sha256sum", ["/root/out/flink-sql-connector-kafka-1.17.1.jar"]).stdout
        XCTAssertEqual(sum.split(separator: " ").first.map(String.init), jar.sha256?.encoded)
        try enclave.check("airgap", ["extract", "bundle.tar", FlinkKitFixture.flink, "--output", "/root/out/flink-layout"], directory: "/root/kit")
        // The layout, read on the host by tools the enclave host does not have.
        try Command.check("oci-image-tool", ["validate", "--type", "image", "--ref", "name=\(FlinkKitFixture.flink)", enclave.root + "/root/out/flink-layout"])
        let registry = try RegistryServer()
        try Command.check("skopeo", ["copy", "--all", "--quiet", "--preserve-digests", "--dest-tls-verify=false",
                                     "oci:\(enclave.root)/root/out/flink-layout:\(FlinkKitFixture.flink)", "docker://\(registry.host)/copied/flink:1.17.1"])
        let raw = try Command.check("skopeo", ["inspect", "--raw", "--tls-verify=false", "docker://\(registry.host)/copied/flink:1.17.1"]).stdout
        XCTAssertEqual(Digest.sha256(of: Data(raw.utf8)), kit.lock.images.first?.bundled?.digest)
    }
}
