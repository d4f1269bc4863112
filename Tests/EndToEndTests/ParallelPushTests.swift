import AirgapTestSupport
import Foundation
import Manifests
import XCTest

/// Push sends its checks, uploads and manifest PUTs concurrently, never more than `--jobs` at
/// once, and still never lets the registry see a manifest before what it names: blobs before
/// their manifest, platform manifests before their index, digests before tags. Proved from the
/// requests a proxy in front of a real registry saw, in the order they landed (the proxy logs a
/// request once the registry answered it, before passing the answer on).
final class ParallelPushTests: UpstreamTestCase {
    static var work: TemporaryDirectory!

    override class func setUp() {
        super.setUp()
        do {
            work = try TemporaryDirectory("parallel-push")
            let spec = try upstream.spec("""
              - ref: docker.io/library/flink:1.17.1
                platforms: [linux/amd64, linux/arm64]
              - ref: busybox:1
              - ref: docker.io/apache/app:2
                platforms: [linux/amd64, linux/arm64, linux/s390x]
            """, in: work)
            try AirgapRunner().check(["pack", "--spec", spec, "--output", work.file("bundle.tar"), "--cache", work.file("cache"), "--no-signatures"])
            try FileManager.default.createDirectory(atPath: work.file("layout"), withIntermediateDirectories: true)
            try Command.check("tar", ["-xf", work.file("bundle.tar"), "-C", work.file("layout")])
        } catch { fatalError("parallel push fixture: \(error)") }
    }

    var bundle: String { Self.work.file("bundle.tar") }

    /// A document of the bundle, by digest.
    private func document(_ digest: String) throws -> Data {
        try Data(contentsOf: URL(fileURLWithPath: Self.work.file("layout/blobs/sha256/\(digest.dropFirst("sha256:".count))")))
    }

    /// What a manifest names (blobs, or the manifests of an index), or nil for a blob.
    private func children(_ descriptor: Descriptor) throws -> [Descriptor]? {
        guard MediaType.isIndex(descriptor.mediaType) || MediaType.isManifest(descriptor.mediaType) else { return nil }
        switch try ManifestDocument(decoding: try document(descriptor.digest.description), mediaType: descriptor.mediaType) {
        case .index(let index): return index.manifests
        case .manifest(let manifest): return manifest.blobs
        }
    }

    /// The bundle's entries: reference (repository, tag) and top descriptor.
    private func entries() throws -> [(repository: String, tag: String, descriptor: Descriptor)] {
        let index = try JSONDecoder().decode(ImageIndex.self, from: Data(contentsOf: URL(fileURLWithPath: Self.work.file("layout/index.json"))))
        return try index.manifests.map { descriptor in
            let reference = try Reference(parsing: descriptor.annotations?[AnnotationKey.refName] ?? "")
            return (reference.repository, reference.tag ?? "", descriptor)
        }
    }

    /// Every manifest of the bundle by digest, with what it names.
    private func manifestChildren() throws -> [String: [Descriptor]] {
        var found: [String: [Descriptor]] = [:]
        func visit(_ descriptor: Descriptor) throws {
            guard found[descriptor.digest.description] == nil, let children = try children(descriptor) else { return }
            found[descriptor.digest.description] = children
            for child in children { try visit(child) }
        }
        for entry in try entries() { try visit(entry.descriptor) }
        return found
    }

    /// Repository and what follows `/blobs/` or `/manifests/` in a logged request path.
    private func parse(_ path: String) -> (repository: String, kind: String, rest: String)? {
        let decoded = path.removingPercentEncoding ?? path
        guard decoded.hasPrefix("/v2/") else { return nil }
        for kind in ["/blobs/", "/manifests/"] {
            if let range = decoded.range(of: kind) {
                return (String(decoded[decoded.index(decoded.startIndex, offsetBy: 4)..<range.lowerBound]), kind, String(decoded[range.upperBound...]))
            }
        }
        return nil
    }

    private func query(_ rest: String, _ name: String) -> String? {
        URLComponents(string: "x?" + (rest.split(separator: "?", maxSplits: 1).dropFirst().first.map(String.init) ?? ""))?
            .queryItems?.first { $0.name == name }?.value
    }

    func testManifestsLandAfterWhatTheyNameAndNoMoreThanJobsRequestsAreInFlight() throws {
        let registry = try RegistryServer()
        defer { registry.stop() }
        // Every request held a little, so requests overlap whenever the push lets them.
        let proxy = try FaultProxy(upstream: registry, options: ["--delay-substring", "/v2/", "--delay", "0.05"])
        let result = try AirgapRunner().run(["push", bundle, "--registry", proxy.host, "--plain-http", "--jobs", "3", "--json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let requests = proxy.requests().filter { $0["role"] as? String == "registry" }

        let peak = requests.compactMap { $0["inflight"] as? Int }.max() ?? 0
        XCTAssertLessThanOrEqual(peak, 3, "--jobs 3 bounds the requests in flight")
        XCTAssertGreaterThanOrEqual(peak, 2, "requests are sent concurrently")

        // Replay the log: a manifest PUT by digest needs all it names in its repository already,
        // a tag PUT the digest it names.
        let children = try manifestChildren()
        let tags = Dictionary(try entries().map { ("\($0.repository):\($0.tag)", $0.descriptor.digest.description) }, uniquingKeysWith: { a, _ in a })
        var landed = Set<String>()
        var manifestsPut = 0
        for request in requests where (request["status"] as? Int) == 201 {
            guard let method = request["method"] as? String, let path = request["path"] as? String, let (repository, kind, rest) = parse(path) else { continue }
            if kind == "/blobs/", method == "PUT", let digest = query(rest, "digest") { landed.insert("\(repository)@\(digest)") }
            if kind == "/blobs/", method == "POST", let digest = query(rest, "mount") { landed.insert("\(repository)@\(digest)") }
            guard kind == "/manifests/", method == "PUT" else { continue }
            manifestsPut += 1
            if rest.hasPrefix("sha256:") {
                let named = try XCTUnwrap(children[rest], "a manifest of the bundle: \(rest)")
                for child in named {
                    XCTAssertTrue(landed.contains("\(repository)@\(child.digest)"), "\(repository)@\(rest) was put before \(child.digest), which it names")
                }
                landed.insert("\(repository)@\(rest)")
            } else {
                let digest = try XCTUnwrap(tags["\(repository):\(rest)"], "a tag of the bundle: \(repository):\(rest)")
                XCTAssertTrue(landed.contains("\(repository)@\(digest)"), "tag \(repository):\(rest) was put before \(digest)")
            }
        }
        XCTAssertEqual(manifestsPut, children.count + tags.count, "every manifest by digest and every tag, once")

        // What is there is not sent again: the second push writes nothing.
        let before = proxy.requests().count
        let again = try AirgapRunner().check(["push", bundle, "--registry", proxy.host, "--plain-http", "--json"])
        let summary = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(again.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(summary["bytesSent"] as? Int, 0)
        XCTAssertEqual(summary["manifestsPut"] as? Int, 0)
        let second = proxy.requests().dropFirst(before).filter { $0["role"] as? String == "registry" }
        let writes = second.filter { ["PUT", "POST", "PATCH"].contains($0["method"] as? String ?? "") }
        XCTAssertEqual(writes.count, 0, "\(writes)")
        // A manifest the registry holds vouches for what it names: one question per tag.
        let questions = second.filter { ($0["path"] as? String)?.contains("/manifests/") == true || ($0["path"] as? String)?.contains("/blobs/") == true }
        XCTAssertEqual(questions.count, tags.count, "\(questions.map { $0["path"] ?? "" })")
    }

    func testOneFailedUploadAmongManyStopsThePushWithOneLineAndNoManifestThatNamesIt() throws {
        // A layer only flink's first platform has: its manifest, flink's index and its tag must
        // not be written.
        let all = try manifestChildren()
        let flink = try XCTUnwrap(try entries().first { $0.repository == "library/flink" })
        // Its platform manifest (the entry itself when pack kept one platform).
        let platform = MediaType.isIndex(flink.descriptor.mediaType) ? try XCTUnwrap(try children(flink.descriptor)?.first) : flink.descriptor
        let layers = try XCTUnwrap(try children(platform))
        let layer = try XCTUnwrap(layers.first { layer in all.filter { $0.value.contains { $0.digest == layer.digest } }.count == 1 })

        let registry = try RegistryServer()
        defer { registry.stop() }
        // The registry refuses that blob's closing PUT, for good (400 is not retried).
        let proxy = try FaultProxy(upstream: registry, options: ["--fail-substring", layer.digest.description, "--fail-method", "PUT",
                                                                 "--fail-status", "400", "--fail-count", "1000"])
        let result = try AirgapRunner().run(["push", bundle, "--registry", proxy.host, "--plain-http", "--jobs", "4"])
        XCTAssertEqual(result.status, 1, result.stderr)
        let lines = result.stderr.split(separator: "\n").filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
        XCTAssertEqual(lines.count, 1, result.stderr)
        XCTAssertTrue(result.stderr.contains("blob \(layer.digest)") && result.stderr.contains("library/flink"), result.stderr)

        let manifestPuts = proxy.requests().filter { $0["method"] as? String == "PUT" && ($0["path"] as? String)?.contains("/manifests/") == true }
            .compactMap { $0["path"] as? String }
        for reference in Set(["@\(platform.digest)", "@\(flink.descriptor.digest)", ":1.17.1"]) {
            let path = "/v2/library/flink/manifests/\(reference.dropFirst())"
            XCTAssertFalse(manifestPuts.contains(path), "\(path) was written although it names the failed blob")
            let present = try Command.run("skopeo", ["inspect", "--raw", "--tls-verify=false", "docker://\(registry.host)/library/flink\(reference)"])
            XCTAssertNotEqual(present.status, 0, "library/flink\(reference) is in the registry")
        }

        // Run again against the registry as the failure left it: the rest goes up, and every
        // image copies out whole.
        try AirgapRunner().check(["push", bundle, "--registry", registry.host, "--plain-http"])
        for entry in try entries() {
            try Command.check("skopeo", ["copy", "--all", "--quiet", "--src-tls-verify=false", "docker://\(registry.host)/\(entry.repository):\(entry.tag)",
                                         "oci:\(Self.work.file("copied-\(UUID())")):x"])
        }
    }
}
