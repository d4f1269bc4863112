import AirgapTestSupport
import Foundation
import Manifests
import XCTest

/// pack writes each blob once, straight into its place in the bundle: with or without the
/// cache, cold or warm, the bundle is the same bytes; a blob that is not what its digest says
/// leaves no bundle behind.
final class PackInPlaceTests: UpstreamTestCase {
    private let images = """
      - ref: docker.io/library/flink:1.17.1
        platforms: all
      - ref: docker.io/library/busybox:1
    """

    private func contents(_ path: String) throws -> Data { try XCTUnwrap(FileManager.default.contents(atPath: path)) }

    private func blobGets(_ log: String) -> Int {
        log.split(separator: "\n").filter { $0.contains("\"GET /v2/") && $0.contains("/blobs/sha256:") }.count
    }

    /// Layer files in a cache (everything under blobs/ but the small JSON documents).
    private func cachedBlobs(_ cache: String) -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: "\(cache)/blobs/sha256")) ?? []
    }

    func testNoCachePackIsTheSameBundleAndKeepsNoLayer() throws {
        let work = try TemporaryDirectory()
        let airgap = try AirgapRunner()
        let spec = try upstream.spec(images, in: work)
        let cached = try airgap.json(["pack", "--spec", spec, "--output", work.file("cached.tar"), "--cache", work.file("cache-a")])
        let uncached = try airgap.json(["pack", "--spec", spec, "--output", work.file("uncached.tar"), "--cache", work.file("cache-b"), "--no-cache"])
        XCTAssertEqual(try contents(work.file("cached.tar")), try contents(work.file("uncached.tar")))
        XCTAssertEqual(cached["sha256"] as? String, uncached["sha256"] as? String)
        XCTAssertEqual(uncached["blobsDownloaded"] as? Int, cached["blobsDownloaded"] as? Int)
        XCTAssertFalse(cachedBlobs(work.file("cache-a")).isEmpty, "a cached pack keeps what it downloaded")
        XCTAssertEqual(cachedBlobs(work.file("cache-b")), [], "--no-cache keeps nothing")
        try Command.check("sh", ["-c", "cd \(work.path) && sha256sum -c uncached.tar.sha256"])
        try airgap.check(["verify", work.file("uncached.tar")])
    }

    func testColdPackFillsTheCacheAndAWarmPackAsksTheRegistryForNoBlob() throws {
        let work = try TemporaryDirectory()
        let airgap = try AirgapRunner()
        let spec = try upstream.spec(images, in: work)
        let before = blobGets(upstream.registry.accessLog())
        let cold = try airgap.json(["pack", "--spec", spec, "--output", work.file("cold.tar"), "--cache", work.file("cache"), "--jobs", "8"])
        let afterCold = blobGets(upstream.registry.accessLog())
        XCTAssertEqual(afterCold - before, cold["blobsDownloaded"] as? Int, "each blob is fetched once")
        // Every blob the cache now holds is whole: it hashes to its name.
        for name in cachedBlobs(work.file("cache")) {
            let data = try contents(work.file("cache/blobs/sha256/\(name)"))
            XCTAssertEqual(Digest.sha256(of: data).encoded, name)
        }
        let warm = try airgap.json(["pack", "--spec", spec, "--output", work.file("warm.tar"), "--cache", work.file("cache"), "--jobs", "8"])
        XCTAssertEqual(blobGets(upstream.registry.accessLog()), afterCold, "a warm cache asks the registry for no blob")
        XCTAssertEqual(warm["blobsDownloaded"] as? Int, 0)
        XCTAssertEqual(try contents(work.file("cold.tar")), try contents(work.file("warm.tar")))
    }

    /// The tarball's hash reads a layer while it downloads. A connection that dies after
    /// passing on other bytes, before a server that ignores Range, makes airgap write the layer
    /// again from byte 0 over bytes that hash may have read: the checksum file must still
    /// describe the file, and the bundle be the one a clean download gives.
    func testLayerDownloadedAgainFromByteZeroStillGivesTheRightChecksum() throws {
        let work = try TemporaryDirectory()
        _ = try TestImages.build(layout: work.file("oci"), ref: "big", layers: 1, layerSize: 6 << 20, seed: "restarted")
        try TestImages.push(layout: work.file("oci"), ref: "big", to: upstream.registry, repository: "library/big:1")
        let proxy = try FaultProxy(upstream: upstream.registry, options: ["--drop-after", "\(4 << 20)", "--drop-count", "2",
                                                                                "--garble-dropped", "--ignore-range"])
        // The same spec but for the mirror, so that both bundles hold the same lock.
        let direct = try work.write("direct.yaml", "images:\n  - ref: docker.io/library/big:1\nmirrors:\n  docker.io: http://\(upstream.registry.host)\n")
        let throughProxy = try work.write("proxy.yaml", "images:\n  - ref: docker.io/library/big:1\nmirrors:\n  docker.io: http://\(proxy.host)\n")
        let airgap = try AirgapRunner()
        try airgap.check(["pack", "--spec", direct, "--lock", work.file("direct.lock"), "--output", work.file("clean.tar"), "--no-cache"])
        for extra in [["--no-cache"], ["--max-part-size", "2M", "--no-cache"]] {
            let output = work.file(extra.count > 1 ? "split.tar" : "restarted.tar")
            let result = try airgap.run(["pack", "--spec", throughProxy, "--lock", work.file("proxy.lock"), "--output", output,
                                         "--retry-times", "3"] + extra)
            XCTAssertEqual(result.status, 0, result.stderr)
            // --ignore-missing: a split bundle's checksum file also names the whole, which is never written.
            try Command.check("sh", ["-c", "cd \(work.path) && sha256sum -c --ignore-missing \(URL(fileURLWithPath: output).lastPathComponent).sha256"])
            try airgap.check(["verify", output])
        }
        let clean = try contents(work.file("clean.tar"))
        XCTAssertEqual(try contents(work.file("restarted.tar")), clean)
        let parts = try FileManager.default.contentsOfDirectory(atPath: work.path).filter { $0.hasPrefix("split.tar.0") }.sorted()
        XCTAssertGreaterThan(parts.count, 2)
        XCTAssertEqual(try parts.reduce(into: Data()) { $0 += try contents(work.file($1)) }, clean)
        let requests = proxy.requests()
        XCTAssertEqual(requests.filter { $0["event"] as? String == "dropped" }.count, 2, "the fault was injected in each pack")
        XCTAssertTrue(requests.contains { $0["range"] is String && $0["status"] as? Int == 200 },
                      "the retry asked for a range and got the whole layer: \(requests.filter { $0["range"] is String })")
    }

    /// A cached layer that no longer hashes to its name is found while its bytes are already
    /// going into the tarball (and into the tarball's hash): it is moved aside, fetched again over
    /// the same place, and the checksum file still describes the bundle, which is the one a
    /// healthy cache gives.
    func testDamagedCachedLayerReplacedMidWriteStillGivesTheRightChecksum() throws {
        let work = try TemporaryDirectory()
        _ = try TestImages.build(layout: work.file("oci"), ref: "big", layers: 1, layerSize: 6 << 20, seed: "damaged-cache")
        try TestImages.push(layout: work.file("oci"), ref: "big", to: upstream.registry, repository: "library/cached:1")
        let spec = try upstream.spec("  - ref: docker.io/library/cached:1", in: work)
        let airgap = try AirgapRunner()
        try airgap.check(["pack", "--spec", spec, "--output", work.file("first.tar"), "--cache", work.file("cache")])
        let blobs = work.file("cache/blobs/sha256")
        let layer = try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: blobs).max {
            (FileDescriptorSize.of("\(blobs)/\($0)")) < (FileDescriptorSize.of("\(blobs)/\($1)"))
        })
        let size = FileDescriptorSize.of("\(blobs)/\(layer)")
        XCTAssertGreaterThan(size, 4 << 20, "a layer large enough to be hashed into the tarball before its end")
        try Data(repeating: 0x5A, count: Int(size)).write(to: URL(fileURLWithPath: "\(blobs)/\(layer)"))
        let result = try airgap.check(["pack", "--spec", spec, "--output", work.file("second.tar"), "--cache", work.file("cache")])
        XCTAssertTrue(result.stderr.contains("moved aside") && result.stderr.contains(layer), result.stderr)
        try Command.check("sh", ["-c", "cd \(work.path) && sha256sum -c second.tar.sha256"])
        XCTAssertEqual(try contents(work.file("second.tar")), try contents(work.file("first.tar")))
    }

    /// Space for the whole tarball is reserved before any layer is fetched: a disk too small
    /// is one line naming the bundle and the fix, not a failure after the downloads.
    func testDiskTooSmallForTheBundleFailsBeforeAnyLayerIsFetched() throws {
        let work = try TemporaryDirectory()
        let spec = try upstream.spec(images, in: work)
        let disk = try SmallDisk(at: work.file("usb"), bytes: 64 << 10)
        defer { disk.unmount() }
        let before = blobGets(upstream.registry.accessLog())
        let result = try AirgapRunner().run(["pack", "--spec", spec, "--lock", work.file("bundle.lock"),
                                             "--output", "\(disk.path)/bundle.tar", "--cache", work.file("cache")])
        XCTAssertEqual(result.status, 1, result.stderr)
        let line = result.stderr.split(separator: "\n").last.map(String.init) ?? ""
        XCTAssertTrue(line.contains("\(disk.path)/bundle.tar") && line.contains("more than the disk holds free") && line.contains("--output"), result.stderr)
        XCTAssertEqual(blobGets(upstream.registry.accessLog()), before, "no blob was fetched for a bundle that cannot be written")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: disk.path), [], "nothing is left on the small disk")
    }

    func testBlobNotMatchingItsDigestMidDownloadLeavesNoOutputFile() throws {
        let server = try HostileServer(scenario: "flipped-blob")
        let work = try TemporaryDirectory()
        let spec = try work.write("airgap.yaml", "images:\n  - ref: \(server.host)/library/small:1\n")
        for extra in [[], ["--no-cache"], ["--max-part-size", "1M"]] {
            let result = try AirgapRunner().run(["pack", "--spec", spec, "--output", work.file("bundle.tar"), "--cache", work.file("cache"),
                                                 "--insecure-registry", server.host] + extra)
            XCTAssertEqual(result.status, 1, result.stderr)
            XCTAssertTrue(result.stderr.contains("sha256:"), result.stderr)
            let left = try FileManager.default.contentsOfDirectory(atPath: work.path).filter { $0.hasPrefix("bundle.tar") || $0.hasPrefix(".bundle") }
            XCTAssertEqual(left, [], "\(extra): no bundle, part, checksum or temporary file is left")
            XCTAssertEqual(cachedBlobs(work.file("cache")).filter { name in
                (try? Digest.sha256(of: contents(work.file("cache/blobs/sha256/\(name)"))).encoded) != name
            }, [], "nothing wrong reaches the cache")
        }
    }
}
