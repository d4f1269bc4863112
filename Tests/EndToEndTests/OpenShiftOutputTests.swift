import AirgapTestSupport
import Foundation
import XCTest

/// What push gives an OpenShift cluster: repository names its registry accepts (checked before
/// any write), values and mirror sets that name where pods pull from, mirror sets that a second
/// bundle does not replace, and the commands to run next.
final class OpenShiftOutputTests: XCTestCase {
    var kit: FlinkKitFixture { FlinkKitFixture.shared }

    func testMaxPathComponentsRefusesADeepPlanBeforeAnyRegistryWrite() throws {
        let registry = try RegistryServer()
        let out = try TemporaryDirectory("openshift")
        let refused = try AirgapRunner().run(["push", kit.bundle, "--registry", registry.host, "--plain-http", "--prefix", "flink",
                                              "--max-path-components", "2", "--chart-out", out.path])
        XCTAssertEqual(refused.status, 1, refused.stderr)
        XCTAssertTrue(refused.stderr.contains("--max-path-components 2:"), refused.stderr)
        XCTAssertTrue(refused.stderr.contains("flink/library/flink (3)"), refused.stderr)
        XCTAssertTrue(refused.stderr.contains("flink/maven/com.ververica/flink-sql-connector-sqlserver-cdc (4)"), refused.stderr)
        XCTAssertTrue(refused.stderr.contains("fix: add --flatten"), refused.stderr)
        XCTAssertEqual(registry.repositories(), [], "the registry's catalog is still empty")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out.path), [], "no chart written either")

        let deepPrefix = try AirgapRunner().run(["push", kit.bundle, "--registry", registry.host, "--plain-http", "--prefix", "team/flink",
                                                 "--flatten", "--max-path-components", "2"])
        XCTAssertEqual(deepPrefix.status, 1)
        XCTAssertTrue(deepPrefix.stderr.contains("--prefix PROJECT --flatten"), deepPrefix.stderr)
        XCTAssertEqual(registry.repositories(), [])

        try AirgapRunner().check(["push", kit.bundle, "--registry", registry.host, "--plain-http", "--prefix", "flink", "--flatten",
                                  "--max-path-components", "2", "--chart-out", out.path])
        let repositories = registry.repositories()
        XCTAssertTrue(repositories.contains("flink/library-flink"), "\(repositories)")
        XCTAssertTrue(repositories.contains("flink/flink-cdc-libs"), "\(repositories)")
        XCTAssertEqual(repositories.filter { $0.split(separator: "/").count > 2 }, [])
    }

    func testPrefixThatIsNotARepositoryPathIsRefusedBeforeAnyWrite() throws {
        let registry = try RegistryServer()
        for prefix in ["Flink", "flink project", "flink//cdc", "-flink"] {
            let result = try AirgapRunner().run(["push", kit.bundle, "--registry", registry.host, "--plain-http", "--prefix=\(prefix)"])
            XCTAssertEqual(result.status, 2, prefix)
            XCTAssertTrue(result.stderr.contains("--prefix \(prefix):"), result.stderr)
        }
        let out = try TemporaryDirectory("openshift")
        let pull = try AirgapRunner().run(["push", kit.bundle, "--registry", registry.host, "--plain-http", "--pull-registry", "https://svc:5000",
                                           "--openshift-manifests", out.path])
        XCTAssertEqual(pull.status, 2)
        XCTAssertTrue(pull.stderr.contains("expected HOST[:PORT][/PATH]"), pull.stderr)
        let useless = try AirgapRunner().run(["push", kit.bundle, "--registry", registry.host, "--plain-http", "--pull-registry", "svc:5000/flink"])
        XCTAssertEqual(useless.status, 2)
        XCTAssertTrue(useless.stderr.contains("add --chart-out, --chart-dir or --openshift-manifests"), useless.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out.path), [])
        XCTAssertEqual(registry.repositories(), [])
    }

    func testPullRegistryIsWhatValuesAndBothMirrorSetsName() throws {
        let registry = try RegistryServer()
        let out = try TemporaryDirectory("openshift")
        let pull = "image-registry.openshift-image-registry.svc:5000/flink"
        let result = try AirgapRunner().check(["push", kit.bundle, "--registry", registry.host, "--plain-http", "--prefix", "flink", "--flatten",
                                               "--pull-registry", pull, "--chart-out", out.path])
        let values = try String(contentsOfFile: out.file("flink-cdc/values-airgap.yaml"), encoding: .utf8)
        XCTAssertTrue(values.contains("imageRegistry: \"\(pull)\""), values)
        XCTAssertTrue(values.contains("repository: \"library-flink\""), values)
        let sets = try FileManager.default.contentsOfDirectory(atPath: out.file("openshift")).sorted()
        XCTAssertEqual(sets.count, 2, "\(sets)")
        for set in sets {
            let text = try String(contentsOfFile: out.file("openshift/\(set)"), encoding: .utf8)
            XCTAssertTrue(text.contains("- source: docker.io/library/flink\n      mirrors:\n        - \(pull)/library-flink"), text)
            XCTAssertFalse(text.contains(registry.host), "pods never pull from the host push went through:\n\(text)")
        }
        XCTAssertTrue(sets[0].hasPrefix("idms-airgap-bundle-") && sets[1].hasPrefix("itms-airgap-bundle-"), "\(sets)")
        let name = String(sets[0].dropFirst("idms-".count).dropLast(".yaml".count))
        XCTAssertTrue(try String(contentsOfFile: out.file("openshift/\(sets[0])"), encoding: .utf8).contains("  name: \(name)\n"))

        // The next commands, exactly: apply both sets, install with the values push wrote.
        XCTAssertTrue(result.stdout.contains("oc apply -f \(out.file("openshift/\(sets[0])")) -f \(out.file("openshift/\(sets[1])"))"), result.stdout)
        XCTAssertTrue(result.stdout.contains("helm install flink-cdc \(out.file("flink-cdc")) -f custom-values.yaml -f \(out.file("flink-cdc/values-airgap.yaml"))"),
                      result.stdout)
        XCTAssertTrue(result.stdout.contains("airgap audit --bundle \(kit.bundle) --chart-dir \(out.file("flink-cdc")) --registry \(registry.host) --prefix flink --flatten"),
                      result.stdout)
        let quiet = try AirgapRunner().check(["push", kit.bundle, "--registry", registry.host, "--plain-http", "--prefix", "flink", "--flatten",
                                              "--pull-registry", pull, "--chart-out", out.path, "--quiet"])
        XCTAssertFalse(quiet.stdout.contains("next:"), quiet.stdout)

        // A second bundle's sets sit beside the first's, under another name.
        let second = try TemporaryDirectory("openshift")
        try FileManager.default.copyItem(atPath: kit.bundle, toPath: second.file("flink-cdc-2.tar"))
        try AirgapRunner().check(["push", second.file("flink-cdc-2.tar"), "--registry", registry.host, "--plain-http", "--prefix", "flink", "--flatten",
                                  "--pull-registry", pull, "--openshift-manifests", out.file("openshift")])
        let after = try FileManager.default.contentsOfDirectory(atPath: out.file("openshift")).sorted()
        XCTAssertEqual(after.count, 4, "\(after)")
        XCTAssertTrue(after.contains { $0.hasPrefix("idms-airgap-flink-cdc-2-") }, "\(after)")
    }
}
