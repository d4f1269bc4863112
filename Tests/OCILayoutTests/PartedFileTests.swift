import Manifests
import OCILayout
import XCTest

/// Parts read as one file: every read across a boundary gives the bytes of the concatenation,
/// and the per-part digests from one pass are each part's own.
final class PartedFileTests: XCTestCase {
    private var directory: String!

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "partedfile-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Writes `whole` through the part writer with parts of `partSize` and opens the parts.
    private func split(_ whole: [UInt8], partSize: Int64) throws -> (PartedFile, [PreparedPart]) {
        let writer = PartedFileWriter(destination: "\(directory!)/f", maxPartSize: partSize)
        // Odd write sizes, so writes straddle part boundaries.
        var offset = 0
        while offset < whole.count {
            let count = min(777, whole.count - offset)
            try whole[offset..<(offset + count)].withUnsafeBytes { try writer.write($0) }
            offset += count
        }
        let parts = try writer.finish()
        for part in parts { try part.file.publish() }
        let file = try PartedFile(path: "\(directory!)/f", parts: parts.map { try FileDescriptor.openForReading($0.file.destination) })
        return (file, parts)
    }

    func testReadsAcrossPartBoundariesGiveTheConcatenatedBytes() throws {
        let whole = (0..<10_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let (file, parts) = try split(whole, partSize: 4096)
        XCTAssertEqual(parts.map(\.size), [4096, 4096, 1808])
        XCTAssertEqual(parts.map { URL(fileURLWithPath: $0.file.destination).lastPathComponent }, ["f.001", "f.002", "f.003"])
        XCTAssertEqual(file.totalSize, 10_000)
        for (offset, length) in [(0, 10_000), (4000, 200), (4095, 1), (4096, 1), (8000, 2000), (3, 9000), (9999, 1)] {
            var read: [UInt8] = []
            try file.forEachChunk(offset: Int64(offset), length: Int64(length), bufferSize: 333) { read.append(contentsOf: $0) }
            XCTAssertEqual(read, Array(whole[offset..<(offset + length)]), "at \(offset), \(length) bytes")
        }
        XCTAssertThrowsError(try file.forEachChunk(offset: 9990, length: 20) { _ in }, "reading past the end is an error, not a short read")
    }

    func testOnePassGivesEachPartsOwnDigest() throws {
        let whole = (0..<9000).map { UInt8(truncatingIfNeeded: $0 / 3) }
        let (file, parts) = try split(whole, partSize: 4096)
        let digester = PartDigester(partSizes: file.partSizes)
        try file.forEachChunk(offset: 0, length: file.totalSize, bufferSize: 1000) { digester.update($0) }
        XCTAssertEqual(digester.digests, parts.map(\.digest))
        XCTAssertEqual(digester.digests[0], Digest.sha256(of: Data(whole[0..<4096])))
        XCTAssertEqual(digester.digests[2], Digest.sha256(of: Data(whole[8192...])))
    }
}
