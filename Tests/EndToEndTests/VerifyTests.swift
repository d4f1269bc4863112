import AirgapTestSupport
import Foundation
import XCTest

/// A bundle damaged in transit or on purpose must fail `verify` with exit 1 and one line that
/// names the bad entry.
final class VerifyTests: XCTestCase {
    static var upstream: UpstreamFixture!
    static var pristine: TemporaryDirectory!
    static var manifestDigest = ""
    static var layerDigest = ""

    override class func setUp() {
        super.setUp()
        do {
            upstream = try UpstreamFixture()
            pristine = try TemporaryDirectory("pristine")
            let spec = try upstream.spec("  - ref: docker.io/library/flink:1.17.1\n    platforms: [linux/amd64, linux/arm64]\n  - ref: busybox:1",
                                         in: pristine)
            try AirgapRunner().check(["pack", "--spec", spec, "--output", pristine.file("bundle.tar")])
            manifestDigest = upstream.busyboxDigest
            let manifest = try Command.check("skopeo", ["inspect", "--raw", "--tls-verify=false",
                                                        "docker://\(upstream.registry.host)/library/busybox:1"]).stdout
            let layers = (try JSONSerialization.jsonObject(with: Data(manifest.utf8)) as? [String: Any])?["layers"] as? [[String: Any]]
            layerDigest = layers?.last?["digest"] as? String ?? ""
        } catch { fatalError("verify fixture: \(error)") }
    }

    override class func tearDown() {
        upstream = nil
        pristine = nil
        super.tearDown()
    }

    /// A fresh copy of the good bundle (and its checksum file) to damage.
    private func copyOfBundle(in work: TemporaryDirectory, withChecksum: Bool = true) throws -> String {
        let bundle = work.file("bundle.tar")
        try FileManager.default.copyItem(atPath: Self.pristine.file("bundle.tar"), toPath: bundle)
        if withChecksum { try FileManager.default.copyItem(atPath: Self.pristine.file("bundle.tar.sha256"), toPath: bundle + ".sha256") }
        return bundle
    }

    private func assertVerifyFails(_ bundle: String, mentioning expected: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let result = try AirgapRunner().run(["verify", bundle])
        XCTAssertEqual(result.status, 1, result.stdout + result.stderr, file: file, line: line)
        let lines = result.stderr.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, "one line: \(result.stderr)", file: file, line: line)
        for text in expected {
            XCTAssertTrue(result.stderr.contains(text), "expected \"\(text)\" in: \(result.stderr)", file: file, line: line)
        }
    }

    /// Where index.json's data starts in the tarball, and the tarball's bytes.
    private func indexJSONStart(of bundle: String) throws -> (Int, Data) {
        let offsetText = try Command.check("python3", [Paths.fixture("tamper.py"), "offset", bundle, "index.json"]).stdout
        let start = try XCTUnwrap(Int(offsetText.trimmingCharacters(in: .whitespacesAndNewlines)))
        return (start, try Data(contentsOf: URL(fileURLWithPath: bundle)))
    }

    private func blobName(_ digest: String) -> String { "blobs/sha256/" + digest.dropFirst("sha256:".count) }

    func testIntactBundleVerifiesWithItsChecksumFile() throws {
        let work = try TemporaryDirectory()
        let bundle = try copyOfBundle(in: work)
        let result = try AirgapRunner().check(["verify", bundle])
        XCTAssertTrue(result.stdout.contains("OK, 2 images"), result.stdout)
        XCTAssertTrue(result.stdout.contains("matches airgap/bundle.lock"), result.stdout)
        XCTAssertTrue(result.stdout.contains("checksum file: match"), result.stdout)
    }

    func testFlippedByteInALayerIsNamed() throws {
        let work = try TemporaryDirectory()
        let bundle = try copyOfBundle(in: work, withChecksum: false)
        try Tamper.run(["flip", bundle, blobName(Self.layerDigest)])
        try assertVerifyFails(bundle, mentioning: [blobName(Self.layerDigest), "content hashes to"])
    }

    func testFlippedByteInAManifestIsNamed() throws {
        let work = try TemporaryDirectory()
        let bundle = try copyOfBundle(in: work, withChecksum: false)
        try Tamper.run(["flip", bundle, blobName(Self.manifestDigest), "40"])
        try assertVerifyFails(bundle, mentioning: [blobName(Self.manifestDigest), "content hashes to"])
    }

    func testFlippedByteInIndexJSONIsCaughtByTheChecksumFile() throws {
        let work = try TemporaryDirectory()
        let bundle = try copyOfBundle(in: work)
        // A changed letter in a reference name leaves valid JSON and a consistent graph: only the
        // checksum of the whole tarball can tell.
        let (indexStart, bytes) = try indexJSONStart(of: bundle)
        let name = try XCTUnwrap(bytes.range(of: Data("library/flink".utf8), in: indexStart..<bytes.count))
        try Tamper.run(["flip", bundle, "index.json", "\(name.lowerBound - indexStart + 9)"])
        try assertVerifyFails(bundle, mentioning: [bundle, "bundle.tar.sha256", "altered after packing"])
    }

    func testFlippedDigestInIndexJSONIsCaughtWithoutTheChecksumFile() throws {
        let work = try TemporaryDirectory()
        let bundle = try copyOfBundle(in: work, withChecksum: false)
        let (indexStart, bytes) = try indexJSONStart(of: bundle)
        let digestField = try XCTUnwrap(bytes.range(of: Data("\"digest\":\"sha256:".utf8), in: indexStart..<bytes.count))
        let offset = digestField.upperBound
        try Tamper.run(["flip", bundle, "index.json", "\(offset - indexStart + 3)"])
        let result = try AirgapRunner().run(["verify", bundle])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("index.json") || result.stderr.contains("missing"), result.stderr)
    }

    func testTruncatedBundleIsRefused() throws {
        let work = try TemporaryDirectory()
        let bundle = try copyOfBundle(in: work, withChecksum: false)
        let size = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: bundle)[.size] as? Int)
        try Tamper.run(["truncate", bundle, "\(size / 2 + 100)"])
        try assertVerifyFails(bundle, mentioning: ["truncated"])
    }

    func testParentDirectoryEntryIsRejectedAsHostile() throws {
        let work = try TemporaryDirectory()
        let bundle = try copyOfBundle(in: work, withChecksum: false)
        try Tamper.run(["append", bundle, "../evil"])
        try assertVerifyFails(bundle, mentioning: ["../evil", "not part of an OCI layout"])
    }

    func testAbsolutePathAndSymlinkEntriesAreRejected() throws {
        let work = try TemporaryDirectory()
        let absolute = try copyOfBundle(in: work, withChecksum: false)
        try Tamper.run(["append", absolute, "/etc/cron.d/evil"])
        try assertVerifyFails(absolute, mentioning: ["/etc/cron.d/evil"])

        let linked = work.file("linked.tar")
        try FileManager.default.copyItem(atPath: Self.pristine.file("bundle.tar"), toPath: linked)
        try Tamper.run(["append", linked, "blobs/sha256/" + String(repeating: "0", count: 64), "--symlink", "/etc/passwd"])
        try assertVerifyFails(linked, mentioning: ["link or special file"])
    }

    func testDataAppendedAfterTheEndOfArchiveMarkerIsRefusedWithoutAChecksumFile() throws {
        let work = try TemporaryDirectory()
        // A second index.json, which `tar --ignore-zeros` would list after the real one.
        let index = try copyOfBundle(in: work, withChecksum: false)
        try Tamper.run(["append-after-end", index, "index.json"])
        let listed = try Command.check("tar", ["--ignore-zeros", "-tf", index]).stdout.split(separator: "\n")
        XCTAssertEqual(listed.filter { $0 == "index.json" }.count, 2, "the appended member is really there for tar -i")
        try assertVerifyFails(index, mentioning: [index, "after its end-of-archive marker", "appended"])

        let script = work.file("script.tar")
        try FileManager.default.copyItem(atPath: Self.pristine.file("bundle.tar"), toPath: script)
        try Tamper.run(["append-after-end", script, "etc/evil.sh"])
        try assertVerifyFails(script, mentioning: [script, "appended"])

        // Even zeros beyond the record's padding: the tar as written is the only tar accepted.
        let zeros = work.file("zeros.tar")
        try FileManager.default.copyItem(atPath: Self.pristine.file("bundle.tar"), toPath: zeros)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: zeros))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(count: 20480))
        try handle.close()
        try assertVerifyFails(zeros, mentioning: [zeros, "after its end-of-archive marker"])
    }

    func testTarCutRightAfterItsLastMemberIsRefusedWithoutAChecksumFile() throws {
        let work = try TemporaryDirectory()
        let bundle = try copyOfBundle(in: work, withChecksum: false)
        try Tamper.run(["cut-end", bundle])
        XCTAssertEqual(try Command.run("tar", ["-tf", bundle]).status, 0, "tar itself accepts the cut file")
        try assertVerifyFails(bundle, mentioning: [bundle, "no end-of-archive marker", "cut short"])
    }

    func testUnreferencedBlobIsReported() throws {
        let work = try TemporaryDirectory()
        let bundle = try copyOfBundle(in: work, withChecksum: false)
        // A well-formed blob whose name matches its content, but which nothing points at.
        let stray = "owned\n"
        let digest = try Command.check("sh", ["-c", "printf 'owned\\n' | sha256sum | cut -d' ' -f1"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertEqual(stray.count, 6)
        try Tamper.run(["append", bundle, "blobs/sha256/\(digest)"])
        try assertVerifyFails(bundle, mentioning: ["blobs/sha256/\(digest)", "not referenced"])
    }

    func testNotATarballIsRefusedClearly() throws {
        let work = try TemporaryDirectory()
        let bogus = try work.write("bundle.tar", "this is not a tar archive\n")
        try assertVerifyFails(bogus, mentioning: [bogus])
        try assertVerifyFails(work.file("absent.tar"), mentioning: ["absent.tar", "no such file"])
    }

    func testProgressRedrawsOnlyOnATerminal() throws {
        let piped = try AirgapRunner().run(["verify", Self.pristine.file("bundle.tar")])
        XCTAssertFalse(piped.stderr.contains("\r") || piped.stderr.contains("\u{1B}"), "no redrawn line off a terminal: \(piped.stderr)")
        // `script` gives airgap a pseudo-terminal, as an operator's shell would.
        let command = "\(Paths.airgapBinary) verify \(Self.pristine.file("bundle.tar"))"
        let onTerminal = try Command.run("script", ["-qec", command, "/dev/null"], environment: try AirgapRunner().environment)
        XCTAssertEqual(onTerminal.status, 0, onTerminal.stdout)
        XCTAssertTrue(onTerminal.stdout.contains("\r\u{1B}[Kverify  ") && onTerminal.stdout.contains("KiB  bundle.tar"), "phase, bytes and the file moving: \(onTerminal.stdout)")
        XCTAssertTrue(onTerminal.stdout.contains("\r\u{1B}[K/"), "the line is cleared before the result: \(onTerminal.stdout)")
    }

    func testInspectListsReferencesPlatformsAndDigests() throws {
        let result = try AirgapRunner().check(["inspect", Self.pristine.file("bundle.tar")])
        XCTAssertTrue(result.stdout.contains("image  docker.io/library/flink:1.17.1  linux/amd64,linux/arm64"), result.stdout)
        XCTAssertTrue(result.stdout.contains(Self.upstream.flinkDigest), result.stdout)
        XCTAssertTrue(result.stdout.contains("docker.io/library/busybox:1"), result.stdout)
        let json = try Command.check(Paths.airgapBinary, ["inspect", "--json", Self.pristine.file("bundle.tar")])
        let document = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let images = try XCTUnwrap(document["entries"] as? [[String: Any]])
        XCTAssertEqual(images.compactMap { $0["reference"] as? String }.sorted(),
                       ["docker.io/library/busybox:1", "docker.io/library/flink:1.17.1"])
    }
}
