import AirgapTestSupport
import Foundation
import Manifests
import XCTest

/// A push killed in the middle of a large blob resumes, in the next run, from the registry's
/// upload session: it sends what the registry lacks (plus at most the chunk that was in flight),
/// not the whole blob again. Measured by the proxy in front of the registry, which logs every
/// request with its body's length (and, as an ingress does, passes a request on only once its
/// body is whole).
final class PushResumeTests: XCTestCase {
    static let blobSize = 200 << 20
    static let chunk = 16 << 20

    func testBlobKilledAtSixtyPercentResumesWithTheRemainderOnly() throws {
        let work = try TemporaryDirectory("resume")
        let upstream = try RegistryServer()
        defer { upstream.stop() }
        // One incompressible 200 MiB layer, stored as gzip level 0.
        try Command.check("python3", [Paths.script("make-image.py"), "--out", work.file("oci"), "--ref", "big", "--layers", "1",
                                      "--layer-size", "\(Self.blobSize)", "--gzip-level", "0", "--seed", "resume", "--platform", "linux/amd64"])
        try TestImages.push(layout: work.file("oci"), ref: "big", to: upstream, repository: "library/big:1")
        try FileManager.default.removeItem(atPath: work.file("oci"))
        let spec = try work.write("airgap.yaml", "images:\n  - ref: docker.io/library/big:1\nmirrors:\n  docker.io: http://\(upstream.host)\n")
        try AirgapRunner().check(["pack", "--spec", spec, "--output", work.file("bundle.tar"), "--cache", work.file("cache")])
        try FileManager.default.removeItem(atPath: work.file("cache"))
        let lock = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: work.file("bundle.lock")))) as? [String: Any])
        let layerSize = try XCTUnwrap((lock["images"] as? [[String: Any]])?.first?["size"] as? Int)
        XCTAssertGreaterThan(layerSize, Self.blobSize)

        let registry = try RegistryServer()
        defer { registry.stop() }
        // Slow enough per request that the kill lands between chunks of the same upload.
        let proxy = try FaultProxy(upstream: registry, options: ["--delay-substring", "/blobs/uploads/", "--delay", "0.3"])
        let arguments = ["push", work.file("bundle.tar"), "--registry", proxy.host, "--plain-http", "--chunk-size", "\(Self.chunk)",
                         "--cache", work.file("state"), "--json"]
        let chunksInBlob = (Self.blobSize + Self.chunk - 1) / Self.chunk
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Paths.airgapBinary)
        process.arguments = arguments
        process.environment = try AirgapRunner().environment
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        // What the running push has recorded as acknowledged: the kill comes once that passes 60 %,
        // while the next chunk is on its way.
        func recordedOffset() -> Int {
            let directory = work.file("state/uploads")
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasSuffix(".json") }
            return names.compactMap { name -> Int? in
                guard let data = FileManager.default.contents(atPath: "\(directory)/\(name)") else { return nil }
                return (try? JSONSerialization.jsonObject(with: data) as? [String: Any])?["offset"] as? Int
            }.max() ?? 0
        }
        let target = (chunksInBlob * 6 / 10 + 1) * Self.chunk
        let deadline = Date().addingTimeInterval(120)
        while process.isRunning, recordedOffset() < target, Date() < deadline { usleep(2_000) }
        XCTAssertTrue(process.isRunning, "still uploading when killed")
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        let before = proxy.requests()
        let acknowledged = before.filter { $0["method"] as? String == "PATCH" && $0["status"] as? Int == 202 }.reduce(0) { $0 + ($1["length"] as? Int ?? 0) }
        XCTAssertGreaterThanOrEqual(Double(acknowledged), Double(Self.blobSize) * 0.6, "killed at about 60 %")
        let recorded = try FileManager.default.contentsOfDirectory(atPath: work.file("state/uploads")).filter { $0.hasSuffix(".json") }
        XCTAssertEqual(recorded.count, 1, "the session was recorded")
        let record = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: work.file("state/uploads/\(recorded[0])")))) as? [String: Any])
        XCTAssertEqual(record.keys.sorted(), ["digest", "location", "offset", "registry", "repository"], "no credentials, nothing else")
        XCTAssertTrue((record["location"] as? String ?? "").hasPrefix("/v2/library/big/blobs/uploads/"), "the upload path, no scheme or host: \(record)")

        let result = try AirgapRunner().check(arguments)
        let summary = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(summary["blobsResumed"] as? Int, 1, result.stdout)
        let after = Array(proxy.requests().dropFirst(before.count))
        // Requests the registry received (not the cut one of the killed run, which the proxy dropped).
        let sent = after.filter { $0["event"] == nil && ["PATCH", "PUT"].contains($0["method"] as? String ?? "") && ($0["path"] as? String ?? "").contains("/blobs/uploads/") }
            .reduce(0) { $0 + ($1["length"] as? Int ?? 0) }
        print("push resume: \(acknowledged) of \(layerSize) bytes acknowledged before the kill; the next run sent \(sent)")
        XCTAssertLessThanOrEqual(sent, layerSize - acknowledged + Self.chunk, "only the remainder (and at most one chunk more) went again")
        XCTAssertLessThanOrEqual(Double(sent), Double(layerSize) * 0.4 + Double(Self.chunk))
        XCTAssertTrue(after.contains { $0["method"] as? String == "GET" && ($0["path"] as? String ?? "").contains("/blobs/uploads/") && $0["status"] as? Int == 204 },
                      "asked the registry where the session stands")
        XCTAssertEqual((try? FileManager.default.contentsOfDirectory(atPath: work.file("state/uploads"))) ?? [], [], "the record is gone once the blob is in")
        let audit = try AirgapRunner().run(["audit", "--lock", work.file("bundle.lock"), "--registry", registry.host, "--plain-http"])
        XCTAssertEqual(audit.status, 0, audit.stdout)
    }
}
