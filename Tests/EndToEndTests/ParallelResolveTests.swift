import AirgapTestSupport
import Foundation
import XCTest

/// `lock` and `pack` resolve every image at once (bounded by `--jobs`): what the registry sees
/// is still one request per document, one ping and one token per scope, and the lock is the
/// one a one-at-a-time run writes.
final class ParallelResolveTests: UpstreamTestCase {
    /// Two references to the same index (by tag and by digest) and three other images: every
    /// child manifest is named twice, and must still be asked for once.
    private func spec(in work: TemporaryDirectory, proxy: FaultProxy) throws -> String {
        try work.write("airgap.yaml", """
        images:
          - ref: docker.io/library/flink:1.17.1
            platforms: all
          - ref: docker.io/library/flink@\(Self.upstream.flinkDigest)
            platforms: all
          - ref: docker.io/apache/app:2
            platforms: all
          - ref: docker.io/library/busybox:1
        mirrors:
          docker.io: http://\(proxy.host)
        """)
    }

    func testParallelLockFetchesEachManifestOnceWithOneTokenPerScope() throws {
        let proxy = try FaultProxy(upstream: Self.upstream.registry, options: ["--anonymous-bearer"])
        let work = try TemporaryDirectory()
        let spec = try spec(in: work, proxy: proxy)
        try AirgapRunner().check(["lock", "--spec", spec, "--jobs", "8"])

        let requests = proxy.requests()
        let manifestGets = requests.filter {
            $0["role"] as? String == "registry" && $0["method"] as? String == "GET"
                && ($0["path"] as? String ?? "").contains("/manifests/sha256:")
        }.compactMap { $0["path"] as? String }
        XCTAssertFalse(manifestGets.isEmpty)
        let repeated = Dictionary(grouping: manifestGets, by: { $0 }).filter { $0.value.count > 1 }.keys.sorted()
        XCTAssertEqual(repeated, [], "each manifest is fetched once per run")
        // Every platform manifest of both indexes was needed, and each came once.
        XCTAssertGreaterThanOrEqual(Set(manifestGets).count, 2 + 4)

        let pings = requests.filter { $0["role"] as? String == "registry" && $0["path"] as? String == "/v2/" && $0["authorization"] as? String == "" }
        XCTAssertEqual(pings.count, 1, "one ping per registry, not one per image")
        let scopes = requests.filter { $0["role"] as? String == "token-request" }.flatMap { $0["scope"] as? [String] ?? [] }
        XCTAssertEqual(scopes.count, Set(scopes).count, "one token request per scope: \(scopes.sorted())")
        XCTAssertEqual(Set(scopes), ["repository:library/flink:pull", "repository:apache/app:pull", "repository:library/busybox:pull"])
    }

    func testLockWithManyJobsIsTheLockOfOneJob() throws {
        let proxy = try FaultProxy(upstream: Self.upstream.registry, options: ["--anonymous-bearer"])
        let work = try TemporaryDirectory()
        let spec = try spec(in: work, proxy: proxy)
        try AirgapRunner().check(["lock", "--spec", spec, "--lock", work.file("one.lock"), "--jobs", "1"])
        try AirgapRunner().check(["lock", "--spec", spec, "--lock", work.file("many.lock"), "--jobs", "16"])
        let one = try XCTUnwrap(FileManager.default.contents(atPath: work.file("one.lock")))
        let many = try XCTUnwrap(FileManager.default.contents(atPath: work.file("many.lock")))
        XCTAssertEqual(one, many)
    }

    func testFirstFailingImageInSpecOrderIsTheOneReported() throws {
        let work = try TemporaryDirectory()
        let spec = try work.write("airgap.yaml", """
        images:
          - ref: docker.io/library/flink:1.17.1
          - ref: docker.io/library/missing-first:1
          - ref: docker.io/library/busybox:1
          - ref: docker.io/library/missing-second:1
        mirrors:
          docker.io: http://\(Self.upstream.registry.host)
        """)
        for _ in 0..<3 {
            let result = try AirgapRunner().run(["lock", "--spec", spec, "--jobs", "8"])
            XCTAssertEqual(result.status, 1, result.stderr)
            XCTAssertTrue(result.stderr.contains("missing-first"), result.stderr)
            XCTAssertFalse(result.stderr.contains("missing-second"), result.stderr)
            XCTAssertFalse(FileManager.default.fileExists(atPath: work.file("bundle.lock")))
        }
    }
}
