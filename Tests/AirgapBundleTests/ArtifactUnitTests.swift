@testable import AirgapBundle
import Manifests
import OCILayout
import XCTest

final class MavenCoordinateTests: XCTestCase {
    func testRepositoryPathAndBundleReference() throws {
        let kafka = try MavenCoordinate(parsing: "org.apache.flink:flink-sql-connector-kafka:1.17.1")
        XCTAssertEqual(kafka.repositoryPath, "org/apache/flink/flink-sql-connector-kafka/1.17.1/flink-sql-connector-kafka-1.17.1.jar")
        XCTAssertEqual(kafka.bundleReference, "maven/org.apache.flink/flink-sql-connector-kafka:1.17.1")
        let tests = try MavenCoordinate(parsing: "org.example:lib:2.0:tests")
        XCTAssertEqual(tests.fileName, "lib-2.0-tests.jar")
        XCTAssertEqual(tests.bundleReference, "maven/org.example/lib:2.0-tests")
    }

    func testMalformedCoordinatesAreRefused() {
        for text in ["org.example:lib", "org.example:lib:1.0:a:b", "org.example::1.0", "org/example:lib:1.0", "org.example:lib:../1"] {
            XCTAssertThrowsError(try MavenCoordinate(parsing: text), text)
        }
    }

    func testNetrcMachineWinsOverDefault() {
        let text = "default login anon password x\nmachine repo.internal login builder password s3cret\n"
        XCTAssertEqual(RepositoryCredential.parseNetrc(text, host: "repo.internal", source: "n")?.username, "builder")
        XCTAssertEqual(RepositoryCredential.parseNetrc(text, host: "other", source: "n")?.username, "anon")
        XCTAssertNil(RepositoryCredential.parseNetrc("machine a login u password p", host: "b", source: "n"))
    }
}

final class HelmIgnoreTests: XCTestCase {
    func testGlobsDirectoriesNegationAndHelmsDefault() {
        let ignore = HelmIgnore(text: "# comment\n*.bak\nci/\n/secrets.yaml\n!keep.bak\n")
        XCTAssertTrue(ignore.ignores("notes.bak", isDirectory: false))
        XCTAssertTrue(ignore.ignores("templates/old.bak", isDirectory: false))
        XCTAssertFalse(ignore.ignores("keep.bak", isDirectory: false))
        XCTAssertTrue(ignore.ignores("ci", isDirectory: true))
        XCTAssertFalse(ignore.ignores("ci", isDirectory: false), "ci/ matches directories only")
        XCTAssertTrue(ignore.ignores("secrets.yaml", isDirectory: false))
        XCTAssertTrue(ignore.ignores("templates/.hidden", isDirectory: false), "Helm's own templates/.?* rule")
        XCTAssertFalse(ignore.ignores("templates/deployment.yaml", isDirectory: false))
    }
}

final class ChartPackagerTests: XCTestCase {
    func testPackagingIsDeterministicAndNeedsChartYAML() throws {
        let root = NSTemporaryDirectory() + "chart-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: "\(root)/demo/templates", withIntermediateDirectories: true)
        try "apiVersion: v2\nname: demo\nversion: 1.2.3+build\n".write(toFile: "\(root)/demo/Chart.yaml", atomically: true, encoding: .utf8)
        try "a: 1\n".write(toFile: "\(root)/demo/values.yaml", atomically: true, encoding: .utf8)
        let first = try ChartPackager.package(directory: "\(root)/demo", into: try BlobStore(root: "\(root)/store1"))
        // Touching files changes mtimes, not content: the digest must not move.
        try "a: 1\n".write(toFile: "\(root)/demo/values.yaml", atomically: true, encoding: .utf8)
        let second = try ChartPackager.package(directory: "\(root)/demo", into: try BlobStore(root: "\(root)/store2"))
        XCTAssertEqual(first.archive.digest, second.archive.digest)
        XCTAssertEqual(first.version, "1.2.3+build")
        XCTAssertEqual(LockedChart.reference(name: first.name, version: first.version), "charts/demo:1.2.3_build")
        let config = try XCTUnwrap(try JSONSerialization.jsonObject(with: first.config) as? [String: String])
        XCTAssertEqual(config["name"], "demo")

        try FileManager.default.createDirectory(atPath: "\(root)/empty", withIntermediateDirectories: true)
        XCTAssertThrowsError(try ChartPackager.package(directory: "\(root)/empty", into: try BlobStore(root: "\(root)/store3"))) { error in
            XCTAssertTrue("\(error)".contains("no Chart.yaml"), "\(error)")
        }
    }
}

final class LockfileTests: XCTestCase {
    func testEncodingIsSortedAndStable() throws {
        let digest = Digest.sha256(of: Data("x".utf8))
        let jarB = LockedJar(coordinates: try MavenCoordinate(parsing: "b:b:1"), url: "u", sha256: digest, size: 1, upstreamChecksum: nil, verified: false, bundled: nil)
        let jarA = LockedJar(coordinates: try MavenCoordinate(parsing: "a:a:1"), url: "u", sha256: digest, size: 1, upstreamChecksum: nil, verified: false, bundled: nil)
        let one = Lockfile(airgapVersion: "0", specDigest: "s", images: [], jars: [jarB, jarA], charts: [])
        let two = Lockfile(airgapVersion: "0", specDigest: "s", images: [], jars: [jarA, jarB], charts: [])
        XCTAssertEqual(try one.encoded(), try two.encoded())
        XCTAssertEqual(one.jars.map(\.coordinates.description), ["a:a:1", "b:b:1"])
        XCTAssertEqual(try Lockfile.decode(try one.encoded(), path: "x"), one)
        XCTAssertEqual(one.unresolved.count, 0)
    }

    func testSpecDigestIgnoresMirrorsAndFormattingButNotContent() throws {
        let a = try BundleSpec.parse("images:\n  - ref: flink:1.17.1\nmirrors:\n  docker.io: http://127.0.0.1:1\n", path: "a")
        let b = try BundleSpec.parse("# comment\nimages: [{ref: 'docker.io/library/flink:1.17.1'}]\n", path: "b")
        let c = try BundleSpec.parse("images:\n  - ref: flink:1.17.2\n", path: "c")
        XCTAssertEqual(a.canonicalDigest, b.canonicalDigest)
        XCTAssertNotEqual(a.canonicalDigest, c.canonicalDigest)
    }
}
