import AirgapTestSupport
import Foundation
import Manifests
import XCTest

/// `push --chart-out DIR`: the bundle alone is enough to install. The chart it carries appears as
/// `DIR/<name>/` with files/libs and values-airgap.yaml filled, and the chart README's install
/// line works as written from where push left the files.
final class ChartOutTests: XCTestCase {
    var kit: FlinkKitFixture { FlinkKitFixture.shared }

    func testChartReadmeInstallLineWorksAsWrittenAfterPushChartOut() throws {
        let registry = try RegistryServer()
        let site = try TemporaryDirectory("site")
        // Run where an operator would: the chart README names `deploy/…` relative to here.
        try AirgapRunner().check(["push", kit.bundle, "--registry", registry.host, "--plain-http", "--chart-out", "deploy"], directory: site.path)
        let chart = site.file("deploy/flink-cdc")
        for jar in kit.lock.jars {
            let data = try Data(contentsOf: URL(fileURLWithPath: "\(chart)/files/libs/\(jar.coordinates.fileName)"))
            XCTAssertEqual(Digest.sha256(of: data), jar.sha256, jar.coordinates.fileName)
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: site.file("deploy")).sorted(), ["flink-cdc", "openshift"])

        let readme = try String(contentsOfFile: "\(Paths.repositoryRoot)/charts/flink-cdc/README.md", encoding: .utf8)
        let install = try XCTUnwrap(readme.split(separator: "\n").first { $0.hasPrefix("helm install flink-cdc ") }, "no install line in the chart README")
        let words = install.split(separator: " ").map(String.init)
        XCTAssertEqual(words[3], "deploy/flink-cdc", String(install))
        var valueFiles: [String] = []
        for (index, word) in words.enumerated() where word == "-f" && index + 1 < words.count { valueFiles.append(words[index + 1]) }
        XCTAssertEqual(valueFiles, ["custom-values.yaml", "deploy/flink-cdc/values-airgap.yaml"], String(install))
        XCTAssertTrue(FileManager.default.fileExists(atPath: site.file(words[3] + "/Chart.yaml")), String(install))
        XCTAssertTrue(FileManager.default.fileExists(atPath: site.file(valueFiles[1])), String(install))

        // Helm's own engine renders that chart with those values: every Flink container pulls the
        // pushed image by digest from the internal registry.
        let values = try yamlAsJSON(site.file(valueFiles[1]))
        let objects = try Helm.render(site.file(words[3]), values: values).get()
        let images = objects.flatMap { object -> [String] in
            let spec = ((object["spec"] as? [String: Any])?["template"] as? [String: Any])?["spec"] as? [String: Any]
            let containers = (spec?["containers"] as? [[String: Any]] ?? []) + (spec?["initContainers"] as? [[String: Any]] ?? [])
            return containers.compactMap { $0["image"] as? String }
        }
        let flink = try XCTUnwrap(kit.lock.images.first?.bundled?.digest)
        XCTAssertFalse(images.isEmpty)
        XCTAssertTrue(images.contains("\(registry.host)/library/flink@\(flink)"), "\(images)")
        XCTAssertEqual(images.filter { !$0.hasPrefix(registry.host + "/") }, [], "every image from the internal registry")
    }

    func testPushChartOutAgainReplacesTheFolderAndRefusesOneThatIsNotTheChart() throws {
        let registry = try RegistryServer()
        let out = try TemporaryDirectory("chart-out")
        try AirgapRunner().check(["push", kit.bundle, "--registry", registry.host, "--plain-http", "--chart-out", out.path])
        _ = try out.write("flink-cdc/files/libs/stale-0.9.jar", "old")
        try AirgapRunner().check(["push", kit.bundle, "--registry", registry.host, "--plain-http", "--chart-out", out.path, "--quiet"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.file("flink-cdc/files/libs/stale-0.9.jar")), "the folder is the bundle's chart, whole")
        XCTAssertFalse(try FileManager.default.contentsOfDirectory(atPath: out.path).contains { $0.hasPrefix(".") }, "no staging folder left")

        let taken = try TemporaryDirectory("chart-out")
        _ = try taken.write("flink-cdc/Chart.yaml", "apiVersion: v2\nname: my-own\nversion: 1.0.0\n")
        let fresh = try RegistryServer()
        let refused = try AirgapRunner().run(["push", kit.bundle, "--registry", fresh.host, "--plain-http", "--chart-out", taken.path])
        XCTAssertEqual(refused.status, 1)
        XCTAssertTrue(refused.stderr.contains("\(taken.file("flink-cdc")) exists and is not the flink-cdc chart"), refused.stderr)
        XCTAssertEqual(fresh.repositories(), [], "refused before any registry write")
    }

    /// A YAML values file as the JSON helm_render.py takes, through PyYAML in the test venv.
    private func yamlAsJSON(_ path: String) throws -> [String: Any] {
        let script = "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))"
        let output = try Command.check(Helm.python, ["-c", script, path]).stdout
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any])
    }
}
