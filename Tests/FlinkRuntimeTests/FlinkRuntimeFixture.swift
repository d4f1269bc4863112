import AirgapTestSupport
import Foundation
import XCTest

/// What every runtime test starts from, built once per test process, the way an operator gets
/// there: the Flink 1.17.1 test image (scripts/build-flink-image.sh) in a plain-HTTP upstream
/// registry as `library/flink:1.17.1`; a Maven repository on loopback with the test's UDF JAR;
/// `airgap pack` of a spec naming the image, the JAR and the chart; `airgap push` of that bundle
/// into an internal registry with TLS and htpasswd, with `--chart-dir` so files/libs,
/// values-airgap.yaml and the libs image exist. The pods then pull only from that registry.
final class FlinkRuntime {
    /// The tier runs where scripts/test.sh runs it (root, podman, debootstrap); elsewhere it is
    /// skipped with this message, so a plain `swift test` on a laptop stays quick.
    static let gate = "AIRGAP_RUNTIME_TESTS"
    static let user = "deployer", password = "s3cret:pass"

    private static var built: Result<FlinkRuntime, Error>?

    /// The fixture, built on first use; every test of the run shares it.
    static func shared() throws -> FlinkRuntime {
        guard ProcessInfo.processInfo.environment[gate] == "1" else {
            throw XCTSkip("the runtime tier starts Flink on podman: set \(gate)=1 (scripts/test.sh does)")
        }
        if built == nil {
            built = Result { try FlinkRuntime() }
            XCTestObservationCenter.shared.addTestObserver(Cleanup())
        }
        return try built!.get()
    }

    let directory: TemporaryDirectory
    let upstream: RegistryServer
    let internalRegistry: RegistryServer
    let maven: StaticHTTPServer
    /// The chart as the operator has it after `airgap push --chart-dir`.
    let chart: String
    let authFile: String
    let certDirectory: String
    let podmanStorage: String
    /// The test's job JAR (Main-Class org.example.airgap.UdfJob); it does not contain the UDF.
    let jobJar: String
    let udfJar: String
    let timings: [String: Double]

    private init() throws {
        var timings: [String: Double] = [:]
        func timed<T>(_ name: String, _ body: () throws -> T) rethrows -> T {
            let start = Date()
            defer { timings[name] = Date().timeIntervalSince(start) }
            return try body()
        }
        let directory = try TemporaryDirectory("flink-runtime")

        let layout = try timed("image build (cached or cold)") {
            try Command.check("bash", [Paths.script("build-flink-image.sh")]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let upstream = try RegistryServer()
        try timed("skopeo copy to upstream") {
            try Command.check("skopeo", ["copy", "--quiet", "--preserve-digests", "--dest-tls-verify=false",
                                         "oci:\(layout):1.17.1", "docker://\(upstream.host)/library/flink:1.17.1"])
        }

        // The UDF and the job, compiled against the image's own JARs (Java 11 bytecode, as the image runs Java 11).
        let lib = directory.file("flink-lib")
        try timed("compile UDF and job") {
            try FlinkRuntime.extractLib(layout: layout, into: lib)
            let sources = Paths.fixture("flink-job")
            let udfClasses = directory.file("udf-classes"), jobClasses = directory.file("job-classes")
            try Command.check("javac", ["--release", "11", "-nowarn", "-cp", "\(lib)/*", "-d", udfClasses, "\(sources)/Shout.java"])
            try Command.check("jar", ["cf", directory.file("airgap-udf-1.0.0.jar"), "-C", udfClasses, "."])
            try Command.check("javac", ["--release", "11", "-nowarn", "-cp", "\(lib)/*:\(directory.file("airgap-udf-1.0.0.jar"))",
                                        "-d", jobClasses, "\(sources)/UdfJob.java"])
            try Command.check("jar", ["cfe", directory.file("udf-job.jar"), "org.example.airgap.UdfJob", "-C", jobClasses, "."])
        }
        let udfJar = directory.file("airgap-udf-1.0.0.jar")
        let repository = directory.file("maven")
        try TestArtifacts.publish(["org.example.airgap:airgap-udf:1.0.0"], in: repository, options: ["--from-jar", udfJar])
        let maven = try StaticHTTPServer(directory: repository)

        // The chart as shipped, copied so files/libs and values-airgap.yaml land in the copy.
        let connected = directory.file("connected")
        try FileManager.default.createDirectory(atPath: connected, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: "\(Paths.repositoryRoot)/charts/flink-cdc", toPath: "\(connected)/flink-cdc")
        let spec = try directory.write("connected/airgap.yaml", """
        images:
          - ref: docker.io/library/flink:1.17.1
        jars:
          repository: \(maven.url)
          artifacts:
            - org.example.airgap:airgap-udf:1.0.0
        charts:
          - path: flink-cdc
        mirrors:
          docker.io: http://\(upstream.host)
        """)
        let bundle = directory.file("bundle.tar")
        try timed("airgap pack") {
            try AirgapRunner().check(["pack", "--spec", spec, "--output", bundle])
        }

        // Inside the enclave: the internal registry, its CA and the deployer's credentials.
        let internalRegistry = try RegistryServer(tls: true, users: [Self.user: Self.password])
        let authFile = try TestImages.authFile(in: directory, host: internalRegistry.host, user: Self.user, password: Self.password)
        let certDirectory = directory.file("certs")
        try FileManager.default.createDirectory(atPath: certDirectory, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: internalRegistry.caFile, toPath: "\(certDirectory)/ca.crt")
        let enclave = directory.file("enclave")
        try FileManager.default.createDirectory(atPath: enclave, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: "\(Paths.repositoryRoot)/charts/flink-cdc", toPath: "\(enclave)/flink-cdc")
        let chart = "\(enclave)/flink-cdc"
        try timed("airgap push") {
            try AirgapRunner().check(["push", bundle, "--registry", internalRegistry.host, "--prefix", "mirror", "--authfile", authFile,
                                      "--ca-file", internalRegistry.caFile, "--chart-dir", chart])
        }
        self.directory = directory
        self.upstream = upstream
        self.internalRegistry = internalRegistry
        self.maven = maven
        self.chart = chart
        self.authFile = authFile
        self.certDirectory = certDirectory
        podmanStorage = directory.file("podman")
        self.udfJar = udfJar
        jobJar = directory.file("udf-job.jar")
        self.timings = timings
        print("flink runtime fixture: " + timings.sorted { $0.key < $1.key }.map { "\($0.key) \(String(format: "%.1f", $0.value)) s" }.joined(separator: ", "))
    }

    /// The Flink image as values-airgap.yaml names it: the internal registry, pinned by digest.
    var flinkImage: String {
        get throws {
            let text = try String(contentsOfFile: "\(chart)/values-airgap.yaml", encoding: .utf8)
            func first(_ key: String) -> String? {
                text.split(separator: "\n").first { $0.trimmingCharacters(in: .whitespaces).hasPrefix("\(key):") }
                    .map { $0.split(separator: ":", maxSplits: 1)[1].trimmingCharacters(in: CharacterSet(charactersIn: " \"")) }
            }
            guard let registry = first("imageRegistry"), let repository = first("repository"), let digest = first("digest") else {
                throw TestFailure.timedOut("imageRegistry, image.repository and image.digest in values-airgap.yaml:\n\(text)")
            }
            return "\(registry)/\(repository)@\(digest)"
        }
    }

    /// The image's /opt/flink/lib, from its Flink layer (the layer that holds opt/flink/lib).
    private static func extractLib(layout: String, into target: String) throws {
        let index = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(layout)/index.json"))) as! [String: Any]
        let manifestDigest = ((index["manifests"] as! [[String: Any]])[0]["digest"] as! String).dropFirst("sha256:".count)
        let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(layout)/blobs/sha256/\(manifestDigest)"))) as! [String: Any]
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
        for layer in (manifest["layers"] as! [[String: Any]]).reversed() {
            let blob = "\(layout)/blobs/sha256/\((layer["digest"] as! String).dropFirst("sha256:".count))"
            let result = try Command.run("tar", ["-xzf", blob, "-C", target, "--strip-components=4", "--wildcards", "./opt/flink/lib/*.jar"])
            if result.status == 0 { return }
        }
        throw TestFailure.timedOut("opt/flink/lib in the image's layers")
    }

    /// Stops the registries and removes podman's storage once every test has run.
    private final class Cleanup: NSObject, XCTestObservation {
        func testBundleDidFinish(_ testBundle: Bundle) {
            guard case .success(let runtime) = FlinkRuntime.built else { return }
            runtime.upstream.stop()
            runtime.internalRegistry.stop()
            FlinkRuntime.built = nil
        }
    }
}
