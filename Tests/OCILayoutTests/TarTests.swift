import Manifests
import OCILayout
import XCTest

final class TarTests: XCTestCase {
    private var directory: String!

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "ocilayout-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func makeStore(blobs: [String]) throws -> (BlobStore, [Digest: Int64]) {
        let store = try BlobStore(root: "\(directory!)/store")
        var sizes: [Digest: Int64] = [:]
        for text in blobs { sizes[try store.put(Data(text.utf8))] = Int64(text.utf8.count) }
        return (store, sizes)
    }

    func testWriterIsDeterministicAndReaderSeesEveryEntryWithItsSize() throws {
        let (store, sizes) = try makeStore(blobs: ["{\"a\":1}", String(repeating: "layer", count: 50_000)])
        let entry = Descriptor(mediaType: MediaType.ociManifest, digest: sizes.keys.min()!, size: sizes[sizes.keys.min()!]!,
                               annotations: [AnnotationKey.refName: "x"])
        let contents = LayoutContents(entries: [entry], blobs: sizes)
        let first = try LayoutArchiveWriter.write(contents, from: store, to: "\(directory!)/a.tar")
        let second = try LayoutArchiveWriter.write(contents, from: store, to: "\(directory!)/b.tar")
        XCTAssertEqual(first, second)
        XCTAssertEqual(FileManager.default.contents(atPath: "\(directory!)/a.tar"), FileManager.default.contents(atPath: "\(directory!)/b.tar"))

        let reader = try TarReader(path: "\(directory!)/a.tar")
        var names: [String] = []
        while let header = try reader.nextEntry() {
            names.append(header.name)
            var count: Int64 = 0
            try reader.readData { count += Int64($0.count) }
            XCTAssertEqual(count, header.size, header.name)
        }
        XCTAssertEqual(Array(names.prefix(2)), ["oci-layout", "index.json"], "the graph comes before the blobs")
        XCTAssertEqual(names.filter { $0.hasPrefix("blobs/sha256/") && $0.count > 14 }, sizes.keys.sorted().map(LayoutPath.blobName))
    }

    func testDamagedCacheBlobNeverBecomesABundle() throws {
        let (store, sizes) = try makeStore(blobs: ["good content"])
        let digest = sizes.keys.first!
        try Data("evil content".utf8).write(to: URL(fileURLWithPath: store.path(for: digest)))
        let output = "\(directory!)/bundle.tar"
        XCTAssertThrowsError(try LayoutArchiveWriter.write(LayoutContents(entries: [], blobs: sizes), from: store, to: output)) { error in
            XCTAssertTrue("\(error)".contains("hashes to"), "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: output))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.contains("partial") }, [],
                       "no temporary file is left behind")
    }

    func testAtomicFileKeepsTheOldContentWhenWritingFails() throws {
        let target = "\(directory!)/lock"
        try AtomicFile.write(Data("old".utf8), to: target)
        struct Boom: Error {}
        XCTAssertThrowsError(try AtomicFile.write(to: target) { file in
            try Data("half".utf8).withUnsafeBytes { try file.write($0) }
            throw Boom()
        })
        XCTAssertEqual(String(decoding: FileManager.default.contents(atPath: target)!, as: UTF8.self), "old")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), ["lock"])
    }

    func testBlobIngestRefusesContentThatDoesNotMatchItsDigest() throws {
        let store = try BlobStore(root: "\(directory!)/store")
        let ingest = try BlobIngest(store: store)
        try Data("actual".utf8).withUnsafeBytes { try ingest.write($0) }
        let claimed = Digest.sha256(of: Data("claimed".utf8))
        XCTAssertThrowsError(try ingest.commit(expected: claimed, size: 6))
        XCTAssertNil(store.size(of: claimed))
    }
}

final class LayoutPathTests: XCTestCase {
    func testOnlyLayoutNamesAreAccepted() {
        let hex = String(repeating: "ab", count: 32)
        XCTAssertEqual(LayoutPath(entryName: "oci-layout"), .layoutFile)
        XCTAssertEqual(LayoutPath(entryName: "./index.json"), .indexFile)
        XCTAssertEqual(LayoutPath(entryName: "blobs/sha256/\(hex)"), .blob(try! Digest(parsing: "sha256:\(hex)")))
        XCTAssertEqual(LayoutPath(entryName: "blobs/sha256/"), .directory("blobs/sha256/"))
        for hostile in ["../x", "/etc/passwd", "blobs/sha256/../../x", "blobs/sha256/\(hex)/x", "blobs/md5/abc",
                        "blobs/sha256/\(hex.uppercased())", "index.json/", "x/../index.json", "blobs/sha256/.."] {
            XCTAssertNil(LayoutPath(entryName: hostile), hostile)
        }
    }
}
