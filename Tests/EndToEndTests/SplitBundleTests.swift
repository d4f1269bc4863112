import AirgapTestSupport
import Foundation
import Manifests
import XCTest

/// `pack --max-part-size` cuts the very tarball an unsplit pack writes into parts, and every
/// verb reads the parts in place; a part missing, extra, swapped or damaged is named.
final class SplitBundleTests: XCTestCase {
    static var upstream: UpstreamFixture!
    static var pristine: TemporaryDirectory!
    static let partSize = 1 << 20

    override class func setUp() {
        super.setUp()
        do {
            upstream = try UpstreamFixture()
            pristine = try TemporaryDirectory("split")
            // Four 700 KiB layers of pseudo-random bytes: a bundle of about 2.8 MiB, three parts at 1M.
            let layout = upstream.layouts.file("big")
            try TestImages.build(layout: layout, ref: "big", layers: 4, layerSize: 700 * 1024, seed: "big")
            try TestImages.push(layout: layout, ref: "big", to: upstream.registry, repository: "library/big:1")
            let spec = try upstream.spec("  - ref: big:1", in: pristine)
            try FileManager.default.createDirectory(atPath: pristine.file("whole"), withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: pristine.file("parts"), withIntermediateDirectories: true)
            try AirgapRunner().check(["pack", "--spec", spec, "--output", pristine.file("whole/bundle.tar")])
            try AirgapRunner().check(["pack", "--spec", spec, "--output", pristine.file("parts/bundle.tar"), "--max-part-size", "1M"])
        } catch { fatalError("split fixture: \(error)") }
    }

    override class func tearDown() {
        upstream = nil
        pristine = nil
        super.tearDown()
    }

    private func listing(_ directory: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
    }

    /// A fresh copy of the split set (parts and checksum file) to damage.
    private func copyOfParts(in work: TemporaryDirectory) throws -> String {
        for name in try listing(Self.pristine.file("parts")) {
            try FileManager.default.copyItem(atPath: Self.pristine.file("parts/\(name)"), toPath: work.file(name))
        }
        return work.file("bundle.tar")
    }

    private func assertVerifyFails(_ bundle: String, naming part: String, _ words: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let result = try AirgapRunner().run(["verify", bundle])
        XCTAssertEqual(result.status, 1, result.stdout + result.stderr, file: file, line: line)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, "one line: \(result.stderr)", file: file, line: line)
        XCTAssertTrue(result.stderr.contains(part), "expected \(part) named in: \(result.stderr)", file: file, line: line)
        XCTAssertTrue(result.stderr.contains(words), "expected \"\(words)\" in: \(result.stderr)", file: file, line: line)
    }

    func testPartsAreAtMostTheSizeAndConcatenateToTheUnsplitTarball() throws {
        let names = try listing(Self.pristine.file("parts")).filter { !$0.hasSuffix(".cdx.json") }
        XCTAssertEqual(names, ["bundle.tar.001", "bundle.tar.002", "bundle.tar.003", "bundle.tar.sha256"])
        var joined = Data()
        for name in names where name != "bundle.tar.sha256" {
            let data = try Data(contentsOf: URL(fileURLWithPath: Self.pristine.file("parts/\(name)")))
            XCTAssertLessThanOrEqual(data.count, Self.partSize, name)
            joined.append(data)
        }
        let whole = try Data(contentsOf: URL(fileURLWithPath: Self.pristine.file("whole/bundle.tar")))
        XCTAssertEqual(joined.count, whole.count)
        XCTAssertTrue(joined == whole, "the parts, concatenated, are the unsplit tarball byte for byte")

        // The checksum file works with coreutils: the parts alone with --ignore-missing, and the
        // reassembled tarball under the unsplit pack's own digest.
        let work = try TemporaryDirectory()
        _ = try copyOfParts(in: work)
        let partsOnly = try Command.check("sh", ["-c", "cd \"$1\" && sha256sum -c --ignore-missing bundle.tar.sha256", "sh", work.path])
        XCTAssertEqual(partsOnly.stdout.components(separatedBy: ": OK").count - 1, 3, partsOnly.stdout)
        try Command.check("sh", ["-c", "cd \"$1\" && cat bundle.tar.0* > bundle.tar", "sh", work.path])
        let all = try Command.check("sh", ["-c", "cd \"$1\" && sha256sum -c bundle.tar.sha256", "sh", work.path])
        XCTAssertTrue(all.stdout.contains("bundle.tar: OK"), all.stdout)
        let wholeLine = try String(contentsOfFile: Self.pristine.file("whole/bundle.tar.sha256"), encoding: .utf8)
        let splitLines = try String(contentsOfFile: work.file("bundle.tar.sha256"), encoding: .utf8)
        XCTAssertTrue(splitLines.hasSuffix(wholeLine), "the whole-tar line is the unsplit pack's: \(splitLines)")
        // The reassembled tarball verifies as an ordinary bundle.
        let verified = try AirgapRunner().check(["verify", work.file("bundle.tar")])
        XCTAssertTrue(verified.stdout.contains("checksum file: match"), verified.stdout)
    }

    func testVerifyInspectAuditExtractAndPushReadThePartsInPlace() throws {
        let work = try TemporaryDirectory()
        let bundle = try copyOfParts(in: work)
        let before = try listing(work.path)
        let verified = try AirgapRunner().check(["verify", bundle])
        XCTAssertTrue(verified.stdout.contains("OK, 1 image"), verified.stdout)
        XCTAssertTrue(verified.stdout.contains("checksum file: match"), verified.stdout)
        let inspected = try AirgapRunner().check(["inspect", bundle])
        XCTAssertTrue(inspected.stdout.contains("big"), inspected.stdout)

        let audited = try AirgapRunner().check(["audit", "--bundle", bundle])
        XCTAssertTrue(audited.stdout.contains("no findings"), audited.stdout)
        let out = try TemporaryDirectory()
        try AirgapRunner().check(["extract", bundle, "docker.io/library/big:1", "-o", out.file("big")])
        let extractedRaw = try Command.check("skopeo", ["inspect", "--raw", "oci:\(out.file("big")):docker.io/library/big:1"]).stdout

        let registry = try RegistryServer()
        defer { registry.stop() }
        try AirgapRunner().check(["push", bundle, "--registry", registry.host, "--plain-http"])
        let lock = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: Self.pristine.file("bundle.lock")))) as? [String: Any])
        let image = try XCTUnwrap((lock["images"] as? [[String: Any]])?.first)
        let raw = try Command.check("skopeo", ["inspect", "--raw", "--tls-verify=false", "docker://\(registry.host)/library/big:1"]).stdout
        XCTAssertEqual(Digest.sha256(of: Data(raw.utf8)).description, (image["bundled"] as? [String: Any])?["digest"] as? String)
        XCTAssertEqual(extractedRaw, raw)
        // Read in place: nothing was reassembled or written beside the parts.
        XCTAssertEqual(try listing(work.path), before)
    }

    func testDamagedPartIsNamedByVerify() throws {
        let work = try TemporaryDirectory()
        let bundle = try copyOfParts(in: work)
        let part = work.file("bundle.tar.002")
        let handle = try XCTUnwrap(FileHandle(forUpdatingAtPath: part))
        try handle.seek(toOffset: 300_000)
        let byte = try XCTUnwrap(try handle.read(upToCount: 1)).first!
        try handle.seek(toOffset: 300_000)
        try handle.write(contentsOf: Data([byte ^ 0xff]))
        try handle.close()
        try assertVerifyFails(bundle, naming: "bundle.tar.002", "damaged in transfer")
    }

    func testMissingPartIsNamedByVerify() throws {
        let work = try TemporaryDirectory()
        let bundle = try copyOfParts(in: work)
        try FileManager.default.removeItem(atPath: work.file("bundle.tar.002"))
        try assertVerifyFails(bundle, naming: "bundle.tar.002", "missing")
        // Without the checksum file, the gap still shows.
        try FileManager.default.removeItem(atPath: work.file("bundle.tar.sha256"))
        try assertVerifyFails(bundle, naming: "bundle.tar.002", "missing")
    }

    func testExtraPartIsNamedByVerify() throws {
        let work = try TemporaryDirectory()
        let bundle = try copyOfParts(in: work)
        try FileManager.default.copyItem(atPath: work.file("bundle.tar.003"), toPath: work.file("bundle.tar.004"))
        try assertVerifyFails(bundle, naming: "bundle.tar.004", "not listed")
    }

    func testSwappedPartsAreNamedByVerify() throws {
        let work = try TemporaryDirectory()
        let bundle = try copyOfParts(in: work)
        try FileManager.default.moveItem(atPath: work.file("bundle.tar.001"), toPath: work.file("swap"))
        try FileManager.default.moveItem(atPath: work.file("bundle.tar.002"), toPath: work.file("bundle.tar.001"))
        try FileManager.default.moveItem(atPath: work.file("swap"), toPath: work.file("bundle.tar.002"))
        try assertVerifyFails(bundle, naming: "bundle.tar.001", "holds the bytes of bundle.tar.002")
    }

    func testRepackWithALargerPartSizeRemovesStaleParts() throws {
        let work = try TemporaryDirectory()
        let spec = try Self.upstream.spec("  - ref: big:1", in: work)
        try FileManager.default.copyItem(atPath: Self.pristine.file("bundle.lock"), toPath: work.file("bundle.lock"))
        let bundle = work.file("bundle.tar")
        try AirgapRunner().check(["pack", "--spec", spec, "--output", bundle, "--max-part-size", "1M"])
        XCTAssertTrue(FileManager.default.fileExists(atPath: bundle + ".003"))
        try AirgapRunner().check(["pack", "--spec", spec, "--output", bundle, "--max-part-size", "2MiB"])
        XCTAssertEqual(try listing(work.path).filter { $0.hasPrefix("bundle.tar") && !$0.hasSuffix(".cdx.json") }, ["bundle.tar.001", "bundle.tar.002", "bundle.tar.sha256"])
        try AirgapRunner().check(["verify", bundle])
        // An unsplit pack of the same name leaves no parts behind either.
        try AirgapRunner().check(["pack", "--spec", spec, "--output", bundle])
        XCTAssertEqual(try listing(work.path).filter { $0.hasPrefix("bundle.tar") && !$0.hasSuffix(".cdx.json") }, ["bundle.tar", "bundle.tar.sha256"])
        try AirgapRunner().check(["verify", bundle])
    }

    func testPartSizeBelowTheMinimumOrUnreadableIsRefused() throws {
        let work = try TemporaryDirectory()
        for size in ["100K", "seven", "0"] {
            let result = try AirgapRunner().run(["pack", "--spec", work.file("none.yaml"), "--output", work.file("b.tar"), "--max-part-size", size])
            XCTAssertEqual(result.status, 2, result.stderr)
            XCTAssertTrue(result.stderr.contains("--max-part-size \(size)"), result.stderr)
            XCTAssertEqual(try listing(work.path), [])
        }
    }
}
