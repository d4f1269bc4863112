import AirgapTestSupport
import Foundation
import Manifests
import XCTest

/// `pack --since OLD.lock` carries every document but only the layers the base lacks: Flink
/// 1.17.1 → 1.17.2 built the way patch releases are (the same image but its top layer and
/// config). Verify proves what the delta holds and, with `--base`, the whole closure; push
/// checks the registry holds what the delta leaves out before writing anything.
final class DeltaBundleTests: XCTestCase {
    static var upstream: RegistryServer!
    static var work: TemporaryDirectory!
    static var airgap: AirgapRunner!
    static let layerSize = 640 * 1024

    static var oldBundle: String { work.file("old/bundle.tar") }
    static var fullBundle: String { work.file("new/full.tar") }
    static var deltaBundle: String { work.file("new/delta.tar") }
    static var oldLock: String { work.file("old/bundle.lock") }
    static var newSpec: String { work.file("new/airgap.yaml") }

    override class func setUp() {
        super.setUp()
        do {
            upstream = try RegistryServer()
            work = try TemporaryDirectory("delta")
            airgap = try AirgapRunner()
            let layout = work.file("layouts")
            for version in ["1.17.1", "1.17.2"] {
                // Same seed: base and middle layers identical; the top layer and the config differ.
                try TestImages.build(layout: layout, ref: version, platforms: ["linux/amd64", "linux/arm64"], layers: 4, layerSize: layerSize,
                                     seed: "flink", topSeed: version, env: ["FLINK_VERSION=\(version)"])
                try TestImages.push(layout: layout, ref: version, to: upstream, repository: "library/flink:\(version)")
            }
            // The same 1.17.2 under another repository: its shared layers live elsewhere in the enclave.
            try TestImages.push(layout: layout, ref: "1.17.2", to: upstream, repository: "apache/flink:1.17.2")
            for (directory, version) in [("old", "1.17.1"), ("new", "1.17.2")] {
                _ = try work.write("\(directory)/airgap.yaml", "images:\n  - ref: flink:\(version)\n    platforms: [linux/amd64, linux/arm64]\nmirrors:\n  docker.io: http://\(upstream.host)\n")
            }
            try airgap.check(["pack", "--spec", work.file("old/airgap.yaml"), "--output", oldBundle])
            try airgap.check(["pack", "--spec", newSpec, "--output", fullBundle])
            try airgap.check(["pack", "--spec", newSpec, "--output", deltaBundle, "--since", oldLock])
        } catch { fatalError("delta fixture: \(error)") }
    }

    override class func tearDown() {
        upstream?.stop()
        upstream = nil
        work = nil
        airgap = nil
        super.tearDown()
    }

    /// Layer digests and sizes of both platforms of one version, read from the layout the test built.
    private func layers(of version: String) throws -> [String: Int] {
        let layout = Self.work.file("layouts")
        func json(_ digest: String) throws -> [String: Any] {
            let path = "\(layout)/blobs/sha256/\(digest.dropFirst("sha256:".count))"
            return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
        }
        let index = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(layout)/index.json"))) as? [String: Any])
        let top = try XCTUnwrap((index["manifests"] as? [[String: Any]])?.first { ($0["annotations"] as? [String: String])?["org.opencontainers.image.ref.name"] == version })
        var result: [String: Int] = [:]
        for manifest in try XCTUnwrap(try json(top["digest"] as! String)["manifests"] as? [[String: Any]]) {
            for layer in try XCTUnwrap(try json(manifest["digest"] as! String)["layers"] as? [[String: Any]]) {
                result[layer["digest"] as! String] = layer["size"] as? Int
            }
        }
        return result
    }

    private func size(_ path: String) throws -> Int {
        try XCTUnwrap(FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
    }

    private func embeddedLock(_ bundle: String) throws -> [String: Any] {
        let text = try Command.check("tar", ["-xOf", bundle, "airgap/bundle.lock"]).stdout
        return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    private func writes(_ registry: RegistryServer) -> [Substring] {
        registry.accessLog().split(separator: "\n").filter { $0.contains("\"PUT ") || $0.contains("\"POST ") || $0.contains("\"PATCH ") }
    }

    func testDeltaHoldsOnlyTheChangedLayersAndEveryDocument() throws {
        let old = try layers(of: "1.17.1"), new = try layers(of: "1.17.2")
        let changed = new.filter { old[$0.key] == nil }
        let shared = new.filter { old[$0.key] != nil }
        XCTAssertEqual(changed.count, 2, "one top layer per platform changed")
        XCTAssertEqual(shared.count, 5, "the base layer (one for both platforms) and two middle layers per platform are shared")

        // The tarball holds exactly the changed layers among the layers.
        let members = Set(try Command.check("tar", ["-tf", Self.deltaBundle]).stdout.split(separator: "\n").map(String.init))
        for digest in changed.keys { XCTAssertTrue(members.contains("blobs/sha256/\(digest.dropFirst(7))"), "carries \(digest)") }
        for digest in shared.keys { XCTAssertFalse(members.contains("blobs/sha256/\(digest.dropFirst(7))"), "leaves \(digest) to the base") }

        // Its size: the changed layers plus the documents (index, manifests, configs, lock, SBOM) and tar headers.
        let delta = try size(Self.deltaBundle), full = try size(Self.fullBundle)
        let changedBytes = changed.values.reduce(0, +), sharedBytes = shared.values.reduce(0, +)
        XCTAssertGreaterThan(delta, changedBytes)
        XCTAssertLessThan(delta - changedBytes, 24 * 1024, "documents and headers only, beside \(changedBytes) bytes of changed layers: delta \(delta)")
        XCTAssertLessThan(abs((full - delta) - sharedBytes), 4 * 1024, "full \(full) - delta \(delta) is the shared layers' \(sharedBytes) bytes")

        // The lock inside names its base and the blobs left to it, with the base's repository.
        let lock = try embeddedLock(Self.deltaBundle)
        let section = try XCTUnwrap(lock["delta"] as? [String: Any])
        let oldLockData = try Data(contentsOf: URL(fileURLWithPath: Self.oldLock))
        XCTAssertEqual(section["base"] as? String, Digest.sha256(of: oldLockData).description)
        let external = try XCTUnwrap(section["external"] as? [[String: Any]])
        XCTAssertEqual(Dictionary(uniqueKeysWithValues: external.map { ($0["digest"] as! String, $0["size"] as! Int) }), shared)
        XCTAssertEqual(Set(external.map { $0["repository"] as! String }), ["docker.io/library/flink"])
        // The spec's lock on disk is untouched: the delta section lives only in the bundle.
        let onDisk = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: Self.work.file("new/bundle.lock")))) as? [String: Any])
        XCTAssertNil(onDisk["delta"])
        XCTAssertNil(try embeddedLock(Self.fullBundle)["delta"])
    }

    func testDeltaPushIntoARegistryHoldingTheBaseSendsOnlyTheChangedLayers() throws {
        let enclave = try RegistryServer()
        defer { enclave.stop() }
        try Self.airgap.check(["push", Self.oldBundle, "--registry", enclave.host, "--plain-http"])
        let pushed = try Self.airgap.check(["push", Self.deltaBundle, "--registry", enclave.host, "--plain-http", "--lock", Self.work.file("new/bundle.lock")])
        XCTAssertTrue(pushed.stdout.contains("blobs 4 sent"), pushed.stdout)

        let lock = try embeddedLock(Self.deltaBundle)
        let image = try XCTUnwrap((lock["images"] as? [[String: Any]])?.first)
        let bundled = try XCTUnwrap((image["bundled"] as? [String: Any])?["digest"] as? String)
        let raw = try Command.check("skopeo", ["inspect", "--raw", "--tls-verify=false", "docker://\(enclave.host)/library/flink:1.17.2"]).stdout
        XCTAssertEqual(Digest.sha256(of: Data(raw.utf8)).description, bundled)
        for (platform, arch) in [("linux/amd64", "amd64"), ("linux/arm64", "arm64")] {
            let inspected = try Command.check("skopeo", ["inspect", "--tls-verify=false", "--override-arch", arch,
                                                         "docker://\(enclave.host)/library/flink:1.17.2"]).stdout
            let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(inspected.utf8)) as? [String: Any])
            let digests = try XCTUnwrap(object["Layers"] as? [String])
            let manifest = try XCTUnwrap((image["manifests"] as? [[String: Any]])?.first { $0["platform"] as? String == platform })
            XCTAssertEqual(object["Digest"] as? String, bundled, platform)
            let manifestDigest = try XCTUnwrap(manifest["digest"] as? String)
            let manifestData = try Data(contentsOf: URL(fileURLWithPath: Self.work.file("layouts/blobs/sha256/\(manifestDigest.dropFirst(7))")))
            let built = try XCTUnwrap((try JSONSerialization.jsonObject(with: manifestData) as? [String: Any])?["layers"] as? [[String: Any]])
            XCTAssertEqual(digests, built.map { $0["digest"] as! String }, "\(platform): the 1.17.2 layers, in order")
            XCTAssertEqual(Set(digests).subtracting(try layers(of: "1.17.1").keys).count, 1, "\(platform): one new layer, \(digests)")
        }
        // The shared layers were never uploaded again: no upload session closed on their digests.
        let shared = try layers(of: "1.17.2").keys.filter { try layers(of: "1.17.1")[$0] != nil }
        let log = enclave.accessLog()
        let deltaPart = log.components(separatedBy: "/library/flink/manifests/1.17.1").last ?? log
        for digest in shared { XCTAssertFalse(deltaPart.contains("digest=\(digest)"), "\(digest) was sent again") }
    }

    func testDeltaPushIntoAnEmptyRegistryWritesNothingAndNamesTheMissingBlobs() throws {
        let enclave = try RegistryServer()
        defer { enclave.stop() }
        let result = try Self.airgap.run(["push", Self.deltaBundle, "--registry", enclave.host, "--plain-http"])
        XCTAssertEqual(result.status, 1, result.stdout + result.stderr)
        let shared = try layers(of: "1.17.2").keys.filter { try layers(of: "1.17.1")[$0] != nil }
        let lines = result.stderr.split(separator: "\n")
        for digest in shared {
            let line = lines.first { $0.contains(digest) }
            XCTAssertNotNil(line, "\(digest) named in: \(result.stderr)")
            XCTAssertTrue(line?.contains("push the base bundle first, or pass --base") == true, "with the fix: \(line ?? "")")
        }
        XCTAssertTrue(result.stderr.contains("nothing was written"), result.stderr)
        XCTAssertEqual(writes(enclave), [], "the registry received a write")
        XCTAssertEqual(enclave.repositories(), [])
    }

    func testDeltaPushMountsLeftOutBlobsFromTheBasesRepository() throws {
        let work = try TemporaryDirectory("moved")
        let spec = try work.write("airgap.yaml", "images:\n  - ref: apache/flink:1.17.2\n    platforms: [linux/amd64, linux/arm64]\nmirrors:\n  docker.io: http://\(Self.upstream.host)\n")
        try Self.airgap.check(["pack", "--spec", spec, "--output", work.file("delta.tar"), "--since", Self.oldLock])
        let enclave = try RegistryServer()
        defer { enclave.stop() }
        try Self.airgap.check(["push", Self.oldBundle, "--registry", enclave.host, "--plain-http"])
        let pushed = try Self.airgap.check(["push", work.file("delta.tar"), "--registry", enclave.host, "--plain-http"])
        XCTAssertTrue(pushed.stdout.contains("blobs 4 sent") && pushed.stdout.contains("5 mounted"), pushed.stdout)
        let shared = try layers(of: "1.17.2").keys.filter { try layers(of: "1.17.1")[$0] != nil }
        let log = enclave.accessLog()
        for digest in shared {
            XCTAssertTrue(log.contains("/v2/apache/flink/blobs/uploads/?from=library%2Fflink&mount=\(digest)") || log.contains("mount=\(digest)"), "\(digest) mounted")
        }
        let copy = try TemporaryDirectory()
        try Command.check("skopeo", ["copy", "--all", "--quiet", "--src-tls-verify=false", "docker://\(enclave.host)/apache/flink:1.17.2", "oci:\(copy.file("x")):x"])
    }

    func testDeltaPushWithTheBaseBundleTakesTheLeftOutBlobsFromIt() throws {
        let enclave = try RegistryServer()
        defer { enclave.stop() }
        let pushed = try Self.airgap.check(["push", Self.deltaBundle, "--base", Self.oldBundle, "--registry", enclave.host, "--plain-http"])
        XCTAssertTrue(pushed.stdout.contains("blobs 9 sent"), pushed.stdout)
        // Every layer is really there: skopeo copies the image out of the registry whole.
        let out = try TemporaryDirectory()
        try Command.check("skopeo", ["copy", "--all", "--quiet", "--src-tls-verify=false", "docker://\(enclave.host)/library/flink:1.17.2", "oci:\(out.file("copy")):x"])
        let copied = try FileManager.default.contentsOfDirectory(atPath: out.file("copy/blobs/sha256"))
        for digest in try layers(of: "1.17.2").keys { XCTAssertTrue(copied.contains(String(digest.dropFirst(7))), digest) }
    }

    func testVerifyProvesTheDeltaAndWithItsBaseTheWholeClosure() throws {
        let alone = try Self.airgap.check(["verify", Self.deltaBundle, "--lock", Self.work.file("new/bundle.lock")])
        XCTAssertTrue(alone.stdout.contains("OK, 1 image"), alone.stdout)
        XCTAssertTrue(alone.stdout.contains("5 blobs (") && alone.stdout.contains("left to the base") && alone.stdout.contains("pass --base"), alone.stdout)
        let whole = try Self.airgap.check(["verify", Self.deltaBundle, "--base", Self.oldBundle])
        XCTAssertTrue(whole.stdout.contains("proved from \(Self.oldBundle)"), whole.stdout)

        // Another bundle is not its base, even one that holds the blobs.
        let wrong = try Self.airgap.run(["verify", Self.deltaBundle, "--base", Self.fullBundle])
        XCTAssertEqual(wrong.status, 1)
        XCTAssertTrue(wrong.stderr.contains("is not the base of"), wrong.stderr)
        XCTAssertEqual(wrong.stderr.split(separator: "\n").count, 1, wrong.stderr)
        // A full bundle is not a delta.
        let full = try Self.airgap.run(["verify", Self.fullBundle, "--base", Self.oldBundle])
        XCTAssertEqual(full.status, 1)
        XCTAssertTrue(full.stderr.contains("not a delta"), full.stderr)
    }

    /// The delta section of the lock inside, changed as an attacker or a bad copy would; the SBOM
    /// (a function of the lock) is removed so only the lock's own check can catch it.
    func testTamperedDeltaLockIsRefusedByVerifyAndPush() throws {
        let lock = try embeddedLock(Self.deltaBundle)
        let section = try XCTUnwrap(lock["delta"] as? [String: Any])
        let external = try XCTUnwrap(section["external"] as? [[String: Any]])
        let changedLayer = try XCTUnwrap(try layers(of: "1.17.2").first { try layers(of: "1.17.1")[$0.key] == nil })
        let cases: [(String, [[String: Any]], String)] = [
            ("an external blob the bundle carries", external + [["digest": changedLayer.key, "size": changedLayer.value, "repository": "docker.io/library/flink"]], "carries this blob itself"),
            ("an external blob dropped", Array(external.dropFirst()), "missing, but"),
            ("an external size changed", [external[0].merging(["size": (external[0]["size"] as! Int) + 1]) { $1 }] + external.dropFirst(), "leaves it to the base"),
            ("an external blob nothing reaches", external + [["digest": "sha256:" + String(repeating: "f", count: 64), "size": 1, "repository": "docker.io/library/flink"]], "nothing in the bundle points at"),
            ("a repository that is no name", [external[0].merging(["repository": "not a repository"]) { $1 }] + external.dropFirst(), "is not a repository name"),
        ]
        let scratch = try TemporaryDirectory("tamper")
        let enclave = try RegistryServer()
        defer { enclave.stop() }
        try Self.airgap.check(["push", Self.oldBundle, "--registry", enclave.host, "--plain-http"])
        let before = writes(enclave).count
        for (label, list, words) in cases {
            var changed = lock
            changed["delta"] = ["base": section["base"]!, "external": list.sorted { ($0["digest"] as! String) < ($1["digest"] as! String) }]
            let bundle = scratch.file("bundle.tar")
            try? FileManager.default.removeItem(atPath: bundle)
            try? FileManager.default.removeItem(atPath: bundle + ".sha256")
            try FileManager.default.copyItem(atPath: Self.deltaBundle, toPath: bundle)
            let data = try JSONSerialization.data(withJSONObject: changed, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes])
            try data.write(to: URL(fileURLWithPath: scratch.file("inside.lock")))
            try Tamper.run(["replace", bundle, "airgap/bundle.lock", scratch.file("inside.lock")])
            try Tamper.run(["remove", bundle, "airgap/sbom.cdx.json"])
            let verify = try Self.airgap.run(["verify", bundle])
            XCTAssertEqual(verify.status, 1, "\(label): \(verify.stdout)")
            XCTAssertTrue(verify.stderr.contains(words), "\(label): \(verify.stderr)")
            XCTAssertEqual(verify.stderr.split(separator: "\n").count, 1, "\(label): \(verify.stderr)")
            let push = try Self.airgap.run(["push", bundle, "--registry", enclave.host, "--plain-http"])
            XCTAssertEqual(push.status, 1, "\(label): \(push.stdout)")
        }
        XCTAssertEqual(writes(enclave).count, before, "no tampered delta wrote anything")

        // The base digest changed: only the base itself can tell, and it does.
        var rebased = lock
        rebased["delta"] = ["base": "sha256:" + String(repeating: "0", count: 64), "external": external]
        let bundle = scratch.file("rebased.tar")
        try FileManager.default.copyItem(atPath: Self.deltaBundle, toPath: bundle)
        try JSONSerialization.data(withJSONObject: rebased, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes])
            .write(to: URL(fileURLWithPath: scratch.file("rebased.lock")))
        try Tamper.run(["replace", bundle, "airgap/bundle.lock", scratch.file("rebased.lock")])
        try Tamper.run(["remove", bundle, "airgap/sbom.cdx.json"])
        let verify = try Self.airgap.run(["verify", bundle, "--base", Self.oldBundle])
        XCTAssertEqual(verify.status, 1, verify.stdout)
        XCTAssertTrue(verify.stderr.contains("is not the base of"), verify.stderr)
    }

    func testInspectSaysItIsADeltaOfWhichBaseAndHowManyBytesItSaved() throws {
        let shared = try layers(of: "1.17.2").filter { try layers(of: "1.17.1")[$0.key] != nil }.values.reduce(0, +)
        let inspected = try Self.airgap.check(["inspect", Self.deltaBundle]).stdout
        let base = Digest.sha256(of: try Data(contentsOf: URL(fileURLWithPath: Self.oldLock))).description
        XCTAssertTrue(inspected.contains("delta bundle: base lock \(base)"), inspected)
        XCTAssertTrue(inspected.contains("5 blobs left to the base"), inspected)
        XCTAssertTrue(inspected.contains(" MiB saved (carries "), inspected)
        let full = try Self.airgap.check(["inspect", Self.fullBundle]).stdout
        XCTAssertFalse(full.contains("delta"), full)
        let json = try Self.airgap.json(["verify", Self.deltaBundle])
        let delta = try XCTUnwrap(json["delta"] as? [String: Any])
        XCTAssertEqual(delta["bytesSaved"] as? Int, shared)
    }

    func testExtractOfAnImageFromADeltaNeedsItsBaseAndWritesNothingWithout() throws {
        let out = try TemporaryDirectory("extract")
        let refused = try Self.airgap.run(["extract", Self.deltaBundle, "docker.io/library/flink:1.17.2", "-o", out.file("flink")])
        XCTAssertEqual(refused.status, 1)
        XCTAssertTrue(refused.stderr.contains("leaves 5 of its blobs to the base") && refused.stderr.contains("--base"), refused.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.file("flink")), "nothing written")
        try Self.airgap.check(["extract", Self.deltaBundle, "docker.io/library/flink:1.17.2", "-o", out.file("flink"), "--base", Self.oldBundle])
        let raw = try Command.check("skopeo", ["inspect", "--raw", "oci:\(out.file("flink")):docker.io/library/flink:1.17.2"]).stdout
        let lock = try embeddedLock(Self.deltaBundle)
        let image = try XCTUnwrap((lock["images"] as? [[String: Any]])?.first)
        XCTAssertEqual(Digest.sha256(of: Data(raw.utf8)).description, (image["bundled"] as? [String: Any])?["digest"] as? String)
        for digest in try layers(of: "1.17.2").keys {
            XCTAssertTrue(FileManager.default.fileExists(atPath: out.file("flink/blobs/sha256/\(digest.dropFirst(7))")), digest)
        }
    }

    func testAuditAcceptsADelta() throws {
        let audited = try Self.airgap.run(["audit", "--bundle", Self.deltaBundle, "--lock", Self.work.file("new/bundle.lock")])
        XCTAssertEqual(audited.status, 0, audited.stdout + audited.stderr)
        XCTAssertTrue(audited.stdout.contains("no findings"), audited.stdout)
    }

    func testDeltaIsByteReproducibleAndSplitsLikeAnyBundle() throws {
        let out = try TemporaryDirectory("again")
        try Self.airgap.check(["pack", "--spec", Self.newSpec, "--output", out.file("delta.tar"), "--since", Self.oldLock])
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: out.file("delta.tar"))), try Data(contentsOf: URL(fileURLWithPath: Self.deltaBundle)),
                       "the same spec, lock and base give the same bytes")
        // A fresh cache: the base's manifests are fetched by digest, and the bytes are still the same.
        let other = try AirgapRunner()
        try other.check(["pack", "--spec", Self.newSpec, "--output", out.file("fresh.tar"), "--since", Self.oldLock])
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: out.file("fresh.tar"))), try Data(contentsOf: URL(fileURLWithPath: Self.deltaBundle)))

        try FileManager.default.createDirectory(atPath: out.file("parts"), withIntermediateDirectories: true)
        try Self.airgap.check(["pack", "--spec", Self.newSpec, "--output", out.file("parts/delta.tar"), "--since", Self.oldLock, "--max-part-size", "1M"])
        let parts = try FileManager.default.contentsOfDirectory(atPath: out.file("parts")).filter { $0.contains(".tar.0") }.sorted()
        XCTAssertFalse(parts.isEmpty)
        let joined = try parts.reduce(into: Data()) { $0.append(try Data(contentsOf: URL(fileURLWithPath: out.file("parts/\($1)")))) }
        XCTAssertEqual(joined, try Data(contentsOf: URL(fileURLWithPath: Self.deltaBundle)))
        let verified = try Self.airgap.check(["verify", out.file("parts/delta.tar"), "--base", Self.oldBundle])
        XCTAssertTrue(verified.stdout.contains("proved from"), verified.stdout)
    }
}
