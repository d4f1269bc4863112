import Foundation
import Manifests
import OCILayout
import XCTest

/// The tar laid out in advance and filled by position (`TarLayout`, `PlacedTarFile`) is the tar
/// libarchive streams for the same contents, byte for byte, split or not.
final class TarLayoutTests: XCTestCase {
    private var directory: String!

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "tarlayout-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Blobs of sizes around every boundary that matters: empty, one byte, a block and either
    /// side of it, and either side of libarchive's 1 MiB output block.
    private func contents(sizes: [Int]) throws -> (BlobStore, LayoutContents) {
        let store = try BlobStore(root: "\(directory!)/store")
        var blobs: [Digest: Int64] = [:]
        var generator = SystemRandomNumberGenerator()
        for size in sizes {
            let data = Data((0..<size).map { _ in UInt8.random(in: 0...255, using: &generator) })
            blobs[try store.put(data)] = Int64(size)
        }
        let first = blobs.keys.min()!
        let entry = Descriptor(mediaType: MediaType.ociManifest, digest: first, size: blobs[first]!, annotations: [AnnotationKey.refName: "x"])
        return (store, LayoutContents(entries: [entry], blobs: blobs, lockFile: Data("lock\n".utf8), lockSignature: Data("sig".utf8),
                                      sbom: Data(#"{"bomFormat":"CycloneDX"}"#.utf8)))
    }

    /// Fills every blob from the store, last first and several at once, as pack does.
    private func placed(_ contents: LayoutContents, from store: BlobStore, to path: String, maxPartSize: Int64? = nil) throws
        -> (PlacedTarFile, Digest, [Digest]) {
        let layout = try XCTUnwrap(TarLayout(try contents.tarEntries()))
        let file = try PlacedTarFile(layout: layout, destination: path, maxPartSize: maxPartSize)
        final class Outcome: @unchecked Sendable { var value: Result<(whole: Digest, parts: [Digest]), Error>? }
        let outcome = Outcome()
        let finished = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            outcome.value = Result { try file.hashFrontToBack() }
            finished.signal()
        }
        try file.writeFixedParts()
        let blobs = Array(layout.placed.filter { if case .blob = $0.entry.content { return true } else { return false } }.reversed())
        DispatchQueue.concurrentPerform(iterations: blobs.count) { index in
            let item = blobs[index]
            guard case .blob(let digest) = item.entry.content else { return }
            let target = PlacedBlob(file: file, placed: item, digest: digest)
            try! FileDescriptor.openForReading(store.path(for: digest)).forEachChunk(bufferSize: 4099) { try target.write($0) }
            try! target.finish()
        }
        finished.wait()
        let (whole, parts) = try XCTUnwrap(outcome.value).get()
        try file.sync()
        return (file, whole, parts)
    }

    private let sizes = [0, 1, 511, 512, 513, 1000, (1 << 20) - 700, 1 << 20, (1 << 20) + 1, 3 * (1 << 20) + 12345]

    func testPlacedTarIsByteForByteTheTarLibarchiveStreams() throws {
        let (store, contents) = try contents(sizes: sizes)
        let streamed = try LayoutArchiveWriter.write(contents, from: store, to: "\(directory!)/streamed.tar")
        let (file, whole, _) = try placed(contents, from: store, to: "\(directory!)/placed.tar")
        try file.pendingFile.publish()
        XCTAssertEqual(whole, streamed)
        let expected = try XCTUnwrap(FileManager.default.contents(atPath: "\(directory!)/streamed.tar"))
        let actual = try XCTUnwrap(FileManager.default.contents(atPath: "\(directory!)/placed.tar"))
        XCTAssertEqual(actual.count, expected.count)
        XCTAssertTrue(actual == expected, "the placed tar differs from libarchive's")
        XCTAssertEqual(Digest.sha256(of: actual), whole, "the read-behind hash is the file's")
    }

    func testPlacedTarOfEveryTotalSizeEndsWhereLibarchiveEndsIt() throws {
        // Totals either side of a 10240-byte last block and of a whole 1 MiB block.
        for size in [100, 8000, 9000, 1_037_000, 1_040_000, 1_047_000, 1_048_000] {
            let (store, contents) = try contents(sizes: [size])
            let entries = try contents.tarEntries()
            let layout = try XCTUnwrap(TarLayout(entries))
            try LayoutArchiveWriter.write(contents, from: store, to: "\(directory!)/s-\(size).tar")
            XCTAssertEqual(layout.totalSize, FileDescriptor.size(atPath: "\(directory!)/s-\(size).tar"), "blob of \(size) bytes")
            try FileManager.default.removeItem(atPath: "\(directory!)/store")
        }
    }

    func testPlacedPartsAreTheStreamedPartsByteForByte() throws {
        let (store, contents) = try contents(sizes: sizes)
        for folder in ["s", "p"] { try FileManager.default.createDirectory(atPath: "\(directory!)/\(folder)", withIntermediateDirectories: true) }
        let (streamedParts, streamedWhole) = try LayoutArchiveWriter.prepareParts(contents, from: store, to: "\(directory!)/s/bundle.tar",
                                                                                  maxPartSize: 1 << 20)
        for part in streamedParts { try part.file.publish() }
        let (file, whole, partDigests) = try placed(contents, from: store, to: "\(directory!)/p/bundle.tar", maxPartSize: 1 << 20)
        let placedParts = file.preparedParts(digests: partDigests)
        for part in placedParts { try part.file.publish() }
        XCTAssertEqual(whole, streamedWhole)
        XCTAssertEqual(placedParts.map(\.digest), streamedParts.map(\.digest))
        XCTAssertEqual(placedParts.map(\.size), streamedParts.map(\.size))
        for (placedPart, streamedPart) in zip(placedParts, streamedParts) {
            XCTAssertEqual(FileManager.default.contents(atPath: placedPart.file.destination),
                           FileManager.default.contents(atPath: streamedPart.file.destination))
        }
    }

    func testLayoutDeclinesWhatPlainUstarCannotHold() throws {
        let digest = Digest.sha256(of: Data("x".utf8))
        XCTAssertNil(TarLayout([TarEntry(name: LayoutPath.blobName(digest), size: 8 << 30, content: .blob(digest))]),
                     "a blob of 8 GiB needs a pax header: streamed through libarchive instead")
        XCTAssertNil(TarLayout([TarEntry(name: String(repeating: "n", count: 101), size: 1, content: .bytes([1]))]))
        XCTAssertNotNil(TarLayout([TarEntry(name: LayoutPath.blobName(digest), size: (8 << 30) - 1, content: .blob(digest))]))
    }

    func testBlobNotMatchingItsDigestIsRefusedAndAnUnpublishedTarLeavesNoFile() throws {
        let (_, contents) = try contents(sizes: [4096])
        let layout = try XCTUnwrap(TarLayout(try contents.tarEntries()))
        let path = "\(directory!)/bundle.tar"
        do {
            let file = try PlacedTarFile(layout: layout, destination: path)
            try file.writeFixedParts()
            let item = try XCTUnwrap(layout.placed.last)
            guard case .blob(let digest) = item.entry.content else { return XCTFail("the last entry is a blob") }
            let target = PlacedBlob(file: file, placed: item, digest: digest)
            try Data(repeating: 7, count: 4096).withUnsafeBytes { try target.write($0) }
            XCTAssertThrowsError(try target.finish()) { error in XCTAssertTrue("\(error)".contains(digest.description), "\(error)") }
            file.abandon()
            XCTAssertThrowsError(try file.hashFrontToBack(), "an abandoned tar is never hashed whole")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0 != "store" }, [],
                       "nothing is left behind")
    }
}
