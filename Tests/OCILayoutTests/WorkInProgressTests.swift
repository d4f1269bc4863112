import Foundation
import OCILayout
import XCTest

/// Leftovers of a killed writer are swept; files a live writer is still writing are not.
final class WorkInProgressTests: XCTestCase {
    private var directory: String!

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "wip-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// The pid of a process that has exited.
    private func deadPID() throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/true")
        try process.run()
        process.waitUntilExit()
        return process.processIdentifier
    }

    func testPartialsOfDeadWritersAreSweptAndLiveOnesKept() throws {
        let dead = try deadPID()
        let names = [".bundle.tar.partial-\(dead)-17", ".bundle.tar.partial-\(getpid())-18", ".bundle.tar.partial-1-19", "bundle.tar", ".hidden"]
        for name in names { FileManager.default.createFile(atPath: "\(directory!)/\(name)", contents: Data("x".utf8)) }
        let removed = WorkInProgress.sweepPartials(in: directory)
        XCTAssertEqual(removed, ["\(directory!)/.bundle.tar.partial-\(dead)-17"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory).sorted(),
                       [".bundle.tar.partial-1-19", ".bundle.tar.partial-\(getpid())-18", ".hidden", "bundle.tar"].sorted(),
                       "ours and init's (alive) stay, as do files that are not partials")
    }

    func testIngestsOfDeadWritersAreSweptWhenTheCacheOpens() throws {
        let dead = try deadPID()
        let ingest = "\(directory!)/cache/ingest"
        try FileManager.default.createDirectory(atPath: ingest, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: "\(ingest)/\(dead)-\(UUID().uuidString)", contents: Data("half".utf8))
        FileManager.default.createFile(atPath: "\(ingest)/\(getpid())-\(UUID().uuidString)", contents: Data("ours".utf8))
        _ = try BlobStore(root: "\(directory!)/cache")
        let left = try FileManager.default.contentsOfDirectory(atPath: ingest)
        XCTAssertEqual(left.count, 1)
        XCTAssertTrue(left[0].hasPrefix("\(getpid())-"))
    }

    func testPartialNamesAreRecognised() {
        XCTAssertTrue(WorkInProgress.isPartialName(".flink-json-1.17.1.jar.partial-123-456"))
        XCTAssertFalse(WorkInProgress.isPartialName("flink-json-1.17.1.jar"))
        XCTAssertFalse(WorkInProgress.isPartialName(".partial-notes"))
    }
}
