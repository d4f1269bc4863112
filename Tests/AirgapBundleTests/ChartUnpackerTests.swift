@testable import AirgapBundle
import AirgapTestSupport
import Foundation
import Manifests
import OCILayout
import XCTest

/// A chart archive that tries to write outside its folder, or holds links or devices, is refused
/// before anything appears in the destination; a good one appears whole.
final class ChartUnpackerTests: XCTestCase {
    /// Writes a gzip tar with `entries` (python's tarfile: name, type, link target) and returns a
    /// source over it with its real digest (or `digest`).
    private func archive(_ entries: [[String]], in directory: TemporaryDirectory, digest: Digest? = nil) throws -> BlobSource {
        let path = directory.file("chart.tgz")
        let script = """
        import io, json, sys, tarfile
        with tarfile.open(sys.argv[1], "w:gz") as archive:
            for name, kind, target in json.loads(sys.argv[2]):
                info = tarfile.TarInfo(name)
                data = b"apiVersion: v2\\nname: flink-cdc\\nversion: 0.1.0\\n" if kind == "file" else b""
                info.type = {"file": tarfile.REGTYPE, "dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE,
                             "hardlink": tarfile.LNKTYPE, "fifo": tarfile.FIFOTYPE}[kind]
                info.linkname = target
                info.size = len(data)
                info.mode = 0o755 if kind == "dir" else 0o644
                archive.addfile(info, io.BytesIO(data) if data else None)
        """
        let json = String(decoding: try JSONSerialization.data(withJSONObject: entries), as: UTF8.self)
        try Command.check("python3", ["-c", script, path, json])
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let file = try PartedFile.openForReading(path)
        return BlobSource(file: file, offset: 0, descriptor: Descriptor(mediaType: MediaType.helmChartContent,
                                                                        digest: digest ?? Digest.sha256(of: data), size: Int64(data.count)))
    }

    private func assertRefused(_ entries: [[String]], _ expected: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let work = try TemporaryDirectory("unpack")
        let source = try archive(entries, in: work)
        let parent = work.file("out")
        XCTAssertThrowsError(try ChartUnpacker(source: source, chartName: "flink-cdc", label: "charts/flink-cdc:0.1.0").unpack(into: parent),
                             file: file, line: line) { error in
            XCTAssertTrue("\(error)".contains(expected), "\(error)", file: file, line: line)
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: parent), [], "nothing left in the destination", file: file, line: line)
        XCTAssertFalse(FileManager.default.fileExists(atPath: work.file("evil")), "nothing outside it", file: file, line: line)
    }

    func testEntriesThatClimbOutOrAreAbsoluteAreRefused() throws {
        let chart = ["flink-cdc/Chart.yaml", "file", ""]
        try assertRefused([chart, ["flink-cdc/../../evil", "file", ""]], "path component")
        try assertRefused([chart, ["flink-cdc/../evil", "file", ""]], "path component")
        try assertRefused([chart, ["/evil", "file", ""]], "absolute path")
        try assertRefused([chart, ["other/evil", "file", ""]], "outside the chart's folder flink-cdc/")
        try assertRefused([chart, ["flink-cdc/Chart.yaml", "file", ""]], "appears twice")
    }

    func testLinksAndSpecialFilesAreRefused() throws {
        let chart = ["flink-cdc/Chart.yaml", "file", ""]
        try assertRefused([chart, ["flink-cdc/templates", "symlink", "../../"]], "symbolic link")
        try assertRefused([chart, ["flink-cdc/values.yaml", "hardlink", "flink-cdc/Chart.yaml"]], "hard link")
        try assertRefused([chart, ["flink-cdc/pipe", "fifo", ""]], "special file")
    }

    func testArchiveNotMatchingItsDigestIsNotUnpacked() throws {
        let work = try TemporaryDirectory("unpack")
        let wrong = Digest.sha256(of: Data("something else".utf8))
        let source = try archive([["flink-cdc/Chart.yaml", "file", ""]], in: work, digest: wrong)
        XCTAssertThrowsError(try ChartUnpacker(source: source, chartName: "flink-cdc", label: "charts/flink-cdc:0.1.0").unpack(into: work.file("out"))) {
            XCTAssertTrue("\($0)".contains("content hashes to"), "\($0)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: work.file("out/flink-cdc")))
    }

    func testGoodArchiveAppearsWholeWithWhatFinishingAdded() throws {
        let work = try TemporaryDirectory("unpack")
        let source = try archive([["flink-cdc/", "dir", ""], ["flink-cdc/Chart.yaml", "file", ""], ["./flink-cdc/templates/a.yaml", "file", ""]], in: work)
        let parent = work.file("out")
        let folder = try ChartUnpacker(source: source, chartName: "flink-cdc", label: "charts/flink-cdc:0.1.0").unpack(into: parent) { staged in
            XCTAssertFalse(FileManager.default.fileExists(atPath: "\(parent)/flink-cdc"), "not visible before it is whole")
            try Data("global: {}\n".utf8).write(to: URL(fileURLWithPath: "\(staged)/values-airgap.yaml"))
        }
        XCTAssertEqual(folder, "\(parent)/flink-cdc")
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: folder)), ["Chart.yaml", "templates", "values-airgap.yaml"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: parent), ["flink-cdc"])
    }

    func testStagingFolderOfAKilledRunIsSweptAndOursIsRegisteredForSignals() throws {
        let work = try TemporaryDirectory("unpack")
        let source = try archive([["flink-cdc/Chart.yaml", "file", ""]], in: work)
        let parent = work.file("out")
        // pid_max is at most 2^22 on Linux: this writer cannot be alive.
        let leftover = "\(parent)/.flink-cdc.partial-\(Int32.max - 1)-7"
        try FileManager.default.createDirectory(atPath: "\(leftover)/templates", withIntermediateDirectories: true)
        try ChartUnpacker(source: source, chartName: "flink-cdc", label: "charts/flink-cdc:0.1.0").unpack(into: parent) { staged in
            XCTAssertTrue(URL(fileURLWithPath: staged).lastPathComponent.hasPrefix(".flink-cdc.partial-\(getpid())-"), staged)
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: parent), ["flink-cdc"], "the dead run's staging folder is gone")
    }
}
