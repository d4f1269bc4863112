import AirgapBundle
import Manifests
import XCTest

/// Two locks compared field by field: entries matched by reference, so one missing entry is one
/// difference, not a shifted list; every other field named by its path.
final class LockComparisonTests: XCTestCase {
    private func lock(jarDigest: String = "a", charts: [String] = ["one", "two"]) -> Lockfile {
        let coordinate = MavenCoordinate(groupId: "org.example", artifactId: "connector", version: "1.0")
        let pin = Pin(mediaType: MediaType.ociManifest, digest: Digest.sha256(of: Data("manifest".utf8)), size: 100)
        let jar = LockedJar(coordinates: coordinate, url: "https://repo.example/\(coordinate.repositoryPath)",
                            sha256: Digest.sha256(of: Data(jarDigest.utf8)), size: 10,
                            upstreamChecksum: .init(algorithm: "sha1", value: String(repeating: "0", count: 40)), verified: true, bundled: pin)
        return Lockfile(airgapVersion: "1.0.0", specDigest: "sha256:spec", images: [], jars: [jar],
                        charts: charts.map { LockedChart(name: $0, version: "0.1.0", source: "path:\($0)", digest: pin.digest, size: 5, bundled: pin) })
    }

    func testEachDifferingFieldIsOneDifferenceNamedByItsPath() {
        let differences = LockComparison.compare(lock(jarDigest: "b", charts: ["two"]), named: "mine.lock", with: lock(), named: "inside")
        XCTAssertEqual(differences.map(\.problem).sorted(), [
            "charts[charts/one:0.1.0] is in inside but not in mine.lock",
            "jars[maven/org.example/connector:1.0].sha256 is \"\(Digest.sha256(of: Data("b".utf8)))\", but inside says \"\(Digest.sha256(of: Data("a".utf8)))\"",
        ])
        XCTAssertTrue(differences.allSatisfy { $0.kind == .lockVersusLock && $0.place == "mine.lock" })
        XCTAssertEqual(LockComparison.compare(lock(), named: "a", with: lock(), named: "b").count, 0, "equal locks have no difference")
    }

    func testADeltasSectionIsComparedOnlyWhenTheGivenLockHasOne() {
        var carried = lock()
        let blob = ExternalBlob(digest: Digest.sha256(of: Data("layer".utf8)), size: 7, repository: "docker.io/library/flink")
        carried.delta = LockedDelta(base: Digest.sha256(of: Data("old".utf8)), external: [blob])
        XCTAssertEqual(LockComparison.compare(lock(), named: "bundle.lock", withCarried: carried, named: "inside").count, 0,
                       "the spec's lock against a delta's: the delta section is the bundle's, not the spec's")
        var given = carried
        given.delta?.base = Digest.sha256(of: Data("other".utf8))
        let problems = LockComparison.compare(given, named: "delta.lock", withCarried: carried, named: "inside").map(\.problem)
        XCTAssertEqual(problems, ["delta.base is \"\(Digest.sha256(of: Data("other".utf8)))\", but inside says \"\(Digest.sha256(of: Data("old".utf8)))\""])
        XCTAssertFalse(LockComparison.compare(carried, named: "delta.lock", with: lock(), named: "inside").isEmpty, "a delta section only one lock has")
    }

    func testAFieldOnlyOneLockHasIsADifference() {
        var edited = lock()
        edited.jars[0].upstreamChecksum = nil
        edited.jars[0].verified = false
        let problems = LockComparison.compare(edited, named: "mine.lock", with: lock(), named: "inside").map(\.problem)
        XCTAssertTrue(problems.contains { $0.hasPrefix("jars[maven/org.example/connector:1.0].upstreamChecksum is in inside but not in mine.lock") }, "\(problems)")
        XCTAssertTrue(problems.contains { $0.hasPrefix("jars[maven/org.example/connector:1.0].verified is false") }, "\(problems)")
    }
}
