import AirgapTestSupport
import Foundation
import Manifests
import XCTest

/// Every bundle carries `airgap/sbom.cdx.json` and pack writes `<bundle>.cdx.json` beside it:
/// CycloneDX 1.5 (validated by PyPI's cyclonedx-python-lib), every image, platform manifest,
/// JAR, chart and signature artifact with its hash, and no clock in it, so packs stay
/// byte-identical.
final class SBOMTests: XCTestCase {
    static var registry: RegistryServer!
    static var files: TemporaryDirectory!
    static var mavenServer: StaticHTTPServer!
    static var appDigest = ""
    static let jar = "org.apache.flink:flink-json:1.17.1"

    var host: String { Self.registry.host }

    override class func setUp() {
        super.setUp()
        do {
            registry = try RegistryServer()
            files = try TemporaryDirectory("sbom")
            try CosignFixture.keygen(files.file("signer"))
            try CosignFixture.keygen(files.file("ed"), type: "ed25519")
            let layout = files.file("oci")
            appDigest = try TestImages.build(layout: layout, ref: "app", platforms: ["linux/amd64", "linux/arm64"], layers: 2, seed: "sbom-app")
            try TestImages.push(layout: layout, ref: "app", to: registry, repository: "team/app:1")
            try CosignFixture.sign(registry: registry, repository: "team/app", digest: appDigest, key: files.file("signer.key"))
            try CosignFixture.attest(registry: registry, repository: "team/app", digest: appDigest, key: files.file("signer.key"))
            try CosignFixture.attest(registry: registry, repository: "team/app", digest: appDigest, key: files.file("signer.key"), tagScheme: true)
            try CosignFixture.attachSBOM(registry: registry, repository: "team/app", digest: appDigest)
            try TestArtifacts.publish([jar], in: files.file("maven"))
            mavenServer = try StaticHTTPServer(directory: files.file("maven"))
            try TestArtifacts.chart(in: files)
        } catch { fatalError("SBOM fixture: \(error)") }
    }

    override class func tearDown() {
        registry = nil
        mavenServer = nil
        files = nil
        super.tearDown()
    }

    private func spec(in work: TemporaryDirectory) throws -> String {
        try work.write("airgap.yaml", """
        images:
          - ref: \(host)/team/app:1
            platforms: all
            verify: {key: \(Self.files.file("signer.pub"))}
        jars:
          repository: \(Self.mavenServer.url)
          artifacts:
            - \(Self.jar)
        charts:
          - path: \(Self.files.file("demo"))
        """)
    }

    private func json(_ path: String) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
    }

    private func sha256(_ hashes: Any?) -> String? {
        (hashes as? [[String: Any]])?.first { $0["alg"] as? String == "SHA-256" }?["content"] as? String
    }

    func testSBOMValidatesAgainstCycloneDX15AndListsEveryArtifactWithItsHash() throws {
        let work = try TemporaryDirectory()
        let airgap = try AirgapRunner()
        try airgap.check(["pack", "--spec", try spec(in: work), "--insecure-registry", host, "-o", work.file("bundle.tar")])
        let sbomPath = work.file("bundle.tar.cdx.json")
        let validation = try Command.run(Helm.python, [Paths.fixture("validate_sbom.py"), sbomPath])
        XCTAssertEqual(validation.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "valid", validation.stdout + validation.stderr)
        let inside = try Command.check("tar", ["-xOf", work.file("bundle.tar"), "airgap/sbom.cdx.json"]).stdout
        XCTAssertEqual(Data(inside.utf8), try Data(contentsOf: URL(fileURLWithPath: sbomPath)), "the copy beside the bundle is the one inside")

        let lock = try JSONDecoder().decode(Lockfile.self, from: Data(contentsOf: URL(fileURLWithPath: work.file("bundle.lock"))))
        let sbom = try json(sbomPath)
        XCTAssertEqual(sbom["specVersion"] as? String, "1.5")
        XCTAssertTrue((sbom["serialNumber"] as? String ?? "").hasPrefix("urn:uuid:"))
        let components = try XCTUnwrap(sbom["components"] as? [[String: Any]])
        XCTAssertEqual(components.count, 3, "one image, one JAR, one chart")

        let image = try XCTUnwrap(components.first { $0["type"] as? String == "container" })
        let appHex = String(Self.appDigest.dropFirst(7))
        XCTAssertEqual(image["purl"] as? String, "pkg:oci/app@sha256%3A\(appHex)?repository_url=\(host.replacingOccurrences(of: ":", with: "%3A"))%2Fteam%2Fapp&tag=1")
        XCTAssertEqual(sha256(image["hashes"]), appHex)
        let platforms = try XCTUnwrap(image["components"] as? [[String: Any]])
        XCTAssertEqual(Set(platforms.compactMap { $0["purl"] as? String }.map { $0.contains("arch=amd64&os=linux") || $0.contains("arch=arm64&os=linux") }), [true])
        XCTAssertEqual(Set(platforms.compactMap { sha256($0["hashes"]) }), Set(lock.images[0].manifests.map(\.digest.encoded)))
        let references = try XCTUnwrap(image["externalReferences"] as? [[String: Any]])
        XCTAssertEqual(Set(references.compactMap { sha256($0["hashes"]) }), Set(lock.images[0].signatures!.map(\.bundled.digest.encoded)),
                       "the signature, attestation, SBOM and referrers index, each with its hash")
        XCTAssertEqual(Set(lock.images[0].signatures!.map(\.kind.rawValue)), ["sig", "att", "sbom", "referrers"])
        let sbomReference = try XCTUnwrap(references.first { $0["type"] as? String == "bom" }, "the upstream SBOM is referenced")
        XCTAssertTrue((sbomReference["url"] as? String ?? "").contains(":sha256-\(appHex).sbom@"), "\(sbomReference)")

        let jar = try XCTUnwrap(components.first { $0["type"] as? String == "library" })
        XCTAssertEqual(jar["purl"] as? String, "pkg:maven/org.apache.flink/flink-json@1.17.1?type=jar")
        XCTAssertEqual(sha256(jar["hashes"]), lock.jars[0].sha256?.encoded)
        let upstream = try XCTUnwrap(lock.jars[0].upstreamChecksum)
        let upstreamHash = (jar["hashes"] as? [[String: Any]])?.first { ($0["alg"] as? String)?.lowercased().replacingOccurrences(of: "-", with: "") == upstream.algorithm }
        XCTAssertEqual(upstreamHash?["content"] as? String, upstream.value, "the checksum the repository published")

        let chart = try XCTUnwrap(components.first { $0["name"] as? String == "demo" })
        XCTAssertEqual(chart["version"] as? String, "0.1.0")
        XCTAssertEqual(sha256(chart["hashes"]), lock.charts[0].digest?.encoded)
    }

    func testTwoPacksAreByteIdenticalWithSignaturesSBOMAndAnEd25519BundleSignature() throws {
        var outputs: [(Data, Data)] = []
        for _ in 0..<2 {
            let work = try TemporaryDirectory()
            // A fresh runner each time: its own empty cache.
            try AirgapRunner().check(["pack", "--spec", try spec(in: work), "--insecure-registry", host, "-o", work.file("bundle.tar"),
                                      "--sign-key", Self.files.file("ed.key")])
            let inspect = try AirgapRunner().check(["inspect", work.file("bundle.tar")]).stdout
            XCTAssertTrue(inspect.contains("signature:sig") && inspect.contains("signature:referrers"), inspect)
            outputs.append((try Data(contentsOf: URL(fileURLWithPath: work.file("bundle.tar"))),
                            try Data(contentsOf: URL(fileURLWithPath: work.file("bundle.tar.cdx.json")))))
        }
        XCTAssertEqual(Digest.sha256(of: outputs[0].0), Digest.sha256(of: outputs[1].0), "the tarballs differ")
        XCTAssertEqual(outputs[0].1, outputs[1].1, "the SBOMs differ")
    }

    func testVerifyRefusesAnSBOMThatNoLongerDescribesTheLock() throws {
        let work = try TemporaryDirectory()
        let airgap = try AirgapRunner()
        try airgap.check(["pack", "--spec", try spec(in: work), "--insecure-registry", host, "-o", work.file("bundle.tar")])
        let original = try String(contentsOfFile: work.file("bundle.tar.cdx.json"), encoding: .utf8)
        _ = try work.write("edited.cdx.json", original.replacingOccurrences(of: "\"name\" : \"flink-json\"", with: "\"name\" : \"flink-jsom\""))
        try Tamper.run(["replace", work.file("bundle.tar"), "airgap/sbom.cdx.json", work.file("edited.cdx.json")])
        // The checksum file travelled apart (or was not copied): the SBOM check stands alone.
        try FileManager.default.removeItem(atPath: work.file("bundle.tar.sha256"))
        let result = try airgap.run(["verify", work.file("bundle.tar")])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("airgap/sbom.cdx.json: does not describe airgap/bundle.lock"), result.stderr)
    }
}
