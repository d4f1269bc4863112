import AirgapTestSupport
import Foundation
import XCTest

/// airgap against peers that mean harm: a scripted registry, Maven repository and Helm
/// repository (`Tests/Fixtures/hostile_server.py`) and crafted bundles and YAML. One test (or
/// more) per way issue 17 found to leak credentials, crash airgap or make it run forever. Every
/// run must end on its own with exit 1 (or 2 for audit), one escaped line, never a signal.
final class HostilePeerTests: XCTestCase {
    static let user = "hostile-user", password = "S3cret-pa55word"
    var secretForms: [String] { SecretSearch.forms(user: Self.user, password: Self.password) }
    /// Longer than any of these runs needs; a run that reaches it would have hung.
    let hangLimit: Double = 90
    /// Directories and servers that must outlive the helper that made them.
    private var kept: [AnyObject] = []

    override func tearDown() {
        kept = []
        super.tearDown()
    }

    // MARK: helpers

    private func expectRefused(_ result: CommandResult, saying text: String, status: Int32 = 1,
                               file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertFalse(result.timedOut, "ran until the test stopped it: \(result.stderr)", file: file, line: line)
        XCTAssertNil(result.signal, "ended by signal \(result.signal ?? 0): \(result.stderr)", file: file, line: line)
        XCTAssertEqual(result.status, status, result.stderr, file: file, line: line)
        XCTAssertTrue(result.stderr.contains(text), "expected \"\(text)\" in: \(result.stderr)", file: file, line: line)
        // Retry notices may come first; every message is one line of its own, the error last.
        let lines = result.stderr.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        XCTAssertTrue(lines.allSatisfy { $0.hasPrefix("airgap: ") }, "one line per message: \(result.stderr)", file: file, line: line)
        XCTAssertTrue(lines.last?.contains(text) ?? false, "the last line names it: \(result.stderr)", file: file, line: line)
    }

    private func specFor(_ server: HostileServer, images: [String], platforms: String? = nil, extra: String = "") throws -> (TemporaryDirectory, String) {
        let work = try TemporaryDirectory("hostile-work")
        kept.append(work)
        let list = images.map { "  - ref: \(server.host)/library/\($0)" + (platforms.map { "\n    platforms: \($0)" } ?? "") }.joined(separator: "\n")
        let spec = try work.write("airgap.yaml", "images:\n\(list)\n\(extra)")
        return (work, spec)
    }

    private func plainRegistry(_ server: HostileServer) -> [String] { ["--insecure-registry", server.host] }

    /// A bundle of `library/small:1` packed from a well-behaved instance of the hostile server.
    private func smallBundle() throws -> (TemporaryDirectory, String) {
        let source = try HostileServer()
        kept.append(source)
        let (work, spec) = try specFor(source, images: ["small:1"])
        try AirgapRunner().check(["pack", "--spec", spec, "--output", work.file("bundle.tar")] + plainRegistry(source))
        return (work, work.file("bundle.tar"))
    }

    // MARK: credentials never reach another host, a cleartext realm, a file or the terminal

    func testUploadLocationOnAnotherHostGetsNoCredentials() throws {
        let (work, bundle) = try smallBundle()
        let registry = try HostileServer(scenario: "upload-elsewhere", options: ["--basic", "\(Self.user):\(Self.password)"])
        let airgap = try AirgapRunner()
        let auth = try TestImages.authFile(in: airgap.home, host: registry.host, user: Self.user, password: Self.password)
        let result = try airgap.run(["push", bundle, "--registry", registry.host, "--plain-http", "--authfile", auth], timeout: hangLimit)
        XCTAssertNil(result.signal)
        let elsewhere = registry.elsewhere()
        XCTAssertFalse(elsewhere.isEmpty, "the upload went where the Location said: \(result.stderr)")
        XCTAssertEqual(elsewhere.filter { ($0["authorization"] as? String ?? "") != "" }.count, 0, "credentials sent elsewhere: \(elsewhere)")
        XCTAssertEqual(SecretSearch.leaks(of: secretForms, in: [work.path, airgap.home.path], excluding: [auth], outputs: [result]), [])
    }

    func testUploadLocationDowngradingToPlainHTTPIsRefused() throws {
        let (_, bundle) = try smallBundle()
        let registry = try HostileServer(scenario: "upload-elsewhere", tls: true, options: ["--basic", "\(Self.user):\(Self.password)"])
        let airgap = try AirgapRunner()
        let auth = try TestImages.authFile(in: airgap.home, host: registry.host, user: Self.user, password: Self.password)
        let result = try airgap.run(["push", bundle, "--registry", registry.host, "--ca-file", registry.caFile, "--authfile", auth], timeout: hangLimit)
        expectRefused(result, saying: "drops from HTTPS to HTTP")
        XCTAssertEqual(registry.elsewhere().count, 0, "nothing may follow a downgrade: \(registry.elsewhere())")
        XCTAssertEqual(SecretSearch.leaks(of: secretForms, in: [airgap.home.path], excluding: [auth], outputs: [result]), [])
    }

    func testPlainHTTPRealmOfAnHTTPSRegistryIsRefused() throws {
        let registry = try HostileServer(scenario: "realm-elsewhere", tls: true)
        let (work, spec) = try specFor(registry, images: ["small:1"])
        let airgap = try AirgapRunner()
        let auth = try TestImages.authFile(in: airgap.home, host: registry.host, user: Self.user, password: Self.password)
        let result = try airgap.run(["lock", "--spec", spec, "--ca-file", registry.caFile, "--authfile", auth], timeout: hangLimit)
        expectRefused(result, saying: "plain HTTP")
        XCTAssertEqual(registry.elsewhere().count, 0, "nothing may go to a cleartext realm: \(registry.elsewhere())")
        XCTAssertFalse(FileManager.default.fileExists(atPath: work.file("bundle.lock")))
        XCTAssertEqual(SecretSearch.leaks(of: secretForms, in: [work.path, airgap.home.path], excluding: [auth], outputs: [result]), [])
    }

    func testCredentialsAreNotSentToAPlainHTTPRealmOnAnotherHost() throws {
        // A registry named plain-HTTP may use a plain-HTTP realm, but its credentials go over
        // cleartext only to its own origin: here the token is asked for anonymously.
        let registry = try HostileServer(scenario: "realm-elsewhere")
        let (work, spec) = try specFor(registry, images: ["small:1"])
        let airgap = try AirgapRunner()
        let auth = try TestImages.authFile(in: airgap.home, host: registry.host, user: Self.user, password: Self.password)
        let result = try airgap.run(["lock", "--spec", spec, "--authfile", auth] + plainRegistry(registry), timeout: hangLimit)
        XCTAssertEqual(result.status, 0, result.stderr)
        let tokenRequests = registry.elsewhere()
        XCTAssertFalse(tokenRequests.isEmpty)
        XCTAssertEqual(tokenRequests.filter { ($0["authorization"] as? String ?? "") != "" }.count, 0, "\(tokenRequests)")
        XCTAssertEqual(SecretSearch.leaks(of: secretForms, in: [work.path, airgap.home.path], excluding: [auth], outputs: [result]), [])
    }

    func testPasswordInAMavenURLIsRefusedAndWrittenNowhere() throws {
        let server = try HostileServer()
        let (work, spec) = try specFor(server, images: ["small:1"], extra: """
        jars:
          repository: http://\(Self.user):\(Self.password)@\(server.host)/maven
          artifacts: [org.example:connector:1.0]
        """)
        let airgap = try AirgapRunner()
        let lock = try airgap.run(["lock", "--spec", spec, "--json"] + plainRegistry(server), timeout: hangLimit)
        expectRefused(lock, saying: "AIRGAP_MAVEN_USERNAME")
        let pack = try airgap.run(["pack", "--spec", spec, "--output", work.file("bundle.tar")] + plainRegistry(server), timeout: hangLimit)
        expectRefused(pack, saying: "remove them from the URL")
        let flag = try airgap.run(["lock", "--spec", spec, "--maven-repo", "http://\(Self.user):\(Self.password)@\(server.host)/maven"])
        XCTAssertEqual(flag.status, 2, flag.stderr)
        try FileManager.default.removeItem(atPath: spec)  // the input itself holds it, of course
        let leaks = SecretSearch.leaks(of: [Self.password], in: [work.path, airgap.home.path], outputs: [lock, pack, flag])
        XCTAssertEqual(leaks, [])
    }

    func testPasswordInAHelmRepositoryURLIsRefusedAndWrittenNowhere() throws {
        let server = try HostileServer()
        let (work, spec) = try specFor(server, images: ["small:1"], extra: """
        charts:
          - {repo: "http://\(Self.user):\(Self.password)@\(server.host)/charts", name: flink-cdc, version: 0.1.0}
        """)
        let airgap = try AirgapRunner()
        let lock = try airgap.run(["lock", "--spec", spec, "--json"] + plainRegistry(server), timeout: hangLimit)
        expectRefused(lock, saying: "AIRGAP_HELM_USERNAME")
        try FileManager.default.removeItem(atPath: spec)
        XCTAssertEqual(SecretSearch.leaks(of: [Self.password], in: [work.path, airgap.home.path], outputs: [lock]), [])
    }

    func testRepositoryCredentialsFromTheEnvironmentAreUsedAndRecordedNowhere() throws {
        let server = try HostileServer(options: ["--basic", "\(Self.user):\(Self.password)"])
        let work = try TemporaryDirectory("hostile-work")
        let spec = try work.write("airgap.yaml", """
        images:
          - ref: \(server.host)/library/small:1
        jars:
          repository: http://\(server.host)/maven
          artifacts: [org.example:connector:1.0]
        """)
        var airgap = try AirgapRunner()
        let auth = try TestImages.authFile(in: airgap.home, host: server.host, user: Self.user, password: Self.password)
        airgap.extraEnvironment = ["AIRGAP_MAVEN_USERNAME": Self.user, "AIRGAP_MAVEN_PASSWORD": Self.password]
        let lock = try airgap.run(["lock", "--spec", spec, "--json", "--authfile", auth] + plainRegistry(server), timeout: hangLimit)
        XCTAssertEqual(lock.status, 0, lock.stderr)
        let pack = try airgap.run(["pack", "--spec", spec, "--output", work.file("bundle.tar"), "--json", "--authfile", auth] + plainRegistry(server),
                                  timeout: hangLimit)
        XCTAssertEqual(pack.status, 0, pack.stderr)
        let inspect = try airgap.run(["inspect", work.file("bundle.tar")])
        XCTAssertEqual(SecretSearch.leaks(of: secretForms, in: [work.path, airgap.home.path], excluding: [auth], outputs: [lock, pack, inspect]), [])
    }

    func testCredentialHelperRunsOncePerRegistryNotPerRequest() throws {
        let server = try HostileServer(options: ["--basic", "\(Self.user):\(Self.password)"])
        let (_, spec) = try specFor(server, images: ["small:1", "small:2", "small:3"])
        var airgap = try AirgapRunner()
        let bin = airgap.home.file("bin")
        let count = airgap.home.file("helper-runs")
        let helper = try airgap.home.write("bin/docker-credential-counting", """
        #!/bin/sh
        cat >/dev/null
        echo run >> \(count)
        printf '{"Username":"\(Self.user)","Secret":"\(Self.password)"}'
        """)
        chmod(helper, 0o755)
        let config = try airgap.home.write("auth.json", #"{"credHelpers":{"\#(server.host)":"counting"}}"#)
        airgap.extraEnvironment = ["PATH": "\(bin):\(ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")"]
        let result = try airgap.run(["lock", "--spec", spec, "--authfile", config] + plainRegistry(server), timeout: hangLimit)
        XCTAssertEqual(result.status, 0, result.stderr)
        let runs = ((try? String(contentsOfFile: count, encoding: .utf8)) ?? "").split(separator: "\n").count
        let requests = server.requests().filter { $0["role"] as? String == "main" }.count
        XCTAssertEqual(runs, 1, "the helper ran \(runs) times for \(requests) requests")
        XCTAssertEqual(SecretSearch.leaks(of: secretForms, in: [airgap.home.path], excluding: [helper], outputs: [result]), [])
    }

    // MARK: nothing nested, aliased or repeated crashes airgap or goes unnoticed

    func testIndexNestedThousandsDeepFromARegistryIsAnErrorNotACrash() throws {
        let server = try HostileServer()
        let (work, spec) = try specFor(server, images: ["deep:latest"], platforms: "all")
        let result = try AirgapRunner().run(["lock", "--spec", spec] + plainRegistry(server), timeout: hangLimit)
        expectRefused(result, saying: "nested more than 8 deep")
        XCTAssertFalse(FileManager.default.fileExists(atPath: work.file("bundle.lock")))
    }

    func testIndexNestedThousandsDeepInABundleIsAnErrorForEveryCommand() throws {
        let work = try TemporaryDirectory("hostile-work")
        let deep = work.file("deep.tar")
        try Command.check("python3", [Paths.fixture("hostile_bundle.py"), deep, "--deep", "3000"])
        let registry = try HostileServer()
        let airgap = try AirgapRunner()
        for arguments in [["verify", deep], ["inspect", deep], ["push", deep, "--registry", registry.host, "--plain-http"]] {
            let result = try airgap.run(arguments, timeout: hangLimit)
            expectRefused(result, saying: "nests image indexes more than 8 deep")
        }
        let lockSpec = try specFor(registry, images: ["small:1"])
        try airgap.check(["lock", "--spec", lockSpec.1] + plainRegistry(registry))
        let audit = try airgap.run(["audit", "--lock", lockSpec.0.file("bundle.lock"), "--bundle", deep], timeout: hangLimit)
        XCTAssertNil(audit.signal, audit.stderr)
        XCTAssertTrue([1, 2].contains(audit.status), audit.stderr)
        XCTAssertTrue((audit.stdout + audit.stderr).contains("more than 8 deep"), audit.stdout + audit.stderr)
    }

    func testYAMLNestedThousandsDeepIsAnErrorNotACrash() throws {
        let server = try HostileServer()
        let airgap = try AirgapRunner()
        let work = try TemporaryDirectory("hostile-work")
        let flow = "images: " + String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000) + "\n"
        let block = (0..<5000).map { String(repeating: " ", count: $0) + "k:" }.joined(separator: "\n") + " 1\n"
        for (name, text) in [("flow.yaml", flow), ("block.yaml", block)] {
            let result = try airgap.run(["lock", "--spec", try work.write(name, text)], timeout: hangLimit)
            expectRefused(result, saying: "nested deeper than 64 levels")
        }
        // Chart.yaml and values.yaml of a chart directory.
        for file in ["Chart.yaml", "values.yaml"] {
            let chart = try TemporaryDirectory("chart")
            try TestArtifacts.chart(in: chart, name: "flink-cdc")
            _ = try chart.write("flink-cdc/\(file)", (file == "Chart.yaml" ? "apiVersion: v2\nname: flink-cdc\nversion: 0.1.0\n" : "")
                                + "deep: " + String(repeating: "{a: ", count: 5000) + "1" + String(repeating: "}", count: 5000) + "\n")
            let spec = try chart.write("airgap.yaml", "images:\n  - ref: \(server.host)/library/small:1\ncharts:\n  - path: flink-cdc\n")
            let result = try airgap.run(["lock", "--spec", spec] + plainRegistry(server), timeout: hangLimit)
            expectRefused(result, saying: "\(file): line")
        }
        // A Helm repository's index.yaml.
        let helm = try HostileServer(scenario: "deep-index-yaml")
        let (_, spec) = try specFor(helm, images: ["small:1"], extra: "charts:\n  - {repo: \"http://\(helm.host)/charts\", name: flink-cdc, version: 0.1.0}\n")
        let result = try airgap.run(["lock", "--spec", spec] + plainRegistry(helm), timeout: hangLimit)
        expectRefused(result, saying: "index.yaml: line")
    }

    func testYAMLAliasBombIsRefusedWithoutGrowingMemory() throws {
        // 423 bytes that expand to 10^9 strings.
        let bomb = """
        a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
        b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
        c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
        d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
        e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
        f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
        g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
        h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
        images: [*h,*h,*h,*h,*h,*h,*h,*h,*h]
        """
        let work = try TemporaryDirectory("hostile-work")
        let result = try AirgapRunner().run(["lock", "--spec", try work.write("airgap.yaml", bomb)], timeout: 60)
        expectRefused(result, saying: "aliases expand to more than 100000 values")
    }

    func testDuplicateKeyIsAnErrorNamingTheKeyAndItsLines() throws {
        let work = try TemporaryDirectory("hostile-work")
        let spec = try work.write("airgap.yaml", """
        images:
          - ref: docker.io/library/flink:1.17.1
        # a second list, pasted below, would silently replace the first
        images:
          - ref: docker.io/library/busybox:1
        """)
        let result = try AirgapRunner().run(["lock", "--spec", spec], timeout: hangLimit)
        expectRefused(result, saying: "line 4: key \"images\" appears twice (first on line 1)")
        let helm = try HostileServer(scenario: "duplicate-index-yaml")
        let (_, helmSpec) = try specFor(helm, images: ["small:1"], extra: "charts:\n  - {repo: \"http://\(helm.host)/charts\", name: flink-cdc, version: 0.1.0}\n")
        let index = try AirgapRunner().run(["lock", "--spec", helmSpec] + plainRegistry(helm), timeout: hangLimit)
        expectRefused(index, saying: "key \"entries\" appears twice")
    }

    func testPlatformsAllFetchesEachManifestOnceOnADAG() throws {
        let server = try HostileServer(options: ["--dag-levels", "7"])
        let (_, spec) = try specFor(server, images: ["dag:latest"], platforms: "all")
        let result = try AirgapRunner().run(["lock", "--spec", spec] + plainRegistry(server), timeout: hangLimit)
        XCTAssertEqual(result.status, 0, result.stderr)
        let fetches = server.requests().filter { $0["method"] as? String == "GET" && ($0["path"] as? String ?? "").contains("/manifests/sha256:") }
        let perDigest = Dictionary(grouping: fetches, by: { $0["path"] as? String ?? "" }).mapValues(\.count)
        XCTAssertEqual(perDigest.count, 7, "the seven levels below the top: \(perDigest.keys.sorted())")
        XCTAssertEqual(perDigest.values.max(), 1, "a manifest fetched again: \(perDigest)")
    }

    func testChartWhoseNameIsAPathIsRefusedBeforeAnythingIsLocked() throws {
        for (option, value, complaint) in [("--chart-name", "../evil", "is not a chart name"), ("--chart-version", "1.0/../2", "is not a SemVer 2 version")] {
            let helm = try HostileServer(options: [option, value])
            let (work, spec) = try specFor(helm, images: ["small:1"], extra: "charts:\n  - {repo: \"http://\(helm.host)/charts\", name: flink-cdc, version: 0.1.0}\n")
            let result = try AirgapRunner().run(["lock", "--spec", spec] + plainRegistry(helm), timeout: hangLimit)
            expectRefused(result, saying: complaint)
            XCTAssertFalse(FileManager.default.fileExists(atPath: work.file("bundle.lock")))
        }
    }

    // MARK: nothing is read forever, nothing waits forever

    func testEndlessErrorBodyIsCutAndTheRunEnds() throws {
        let server = try HostileServer(scenario: "endless-error")
        let (_, spec) = try specFor(server, images: ["small:1"])
        let result = try AirgapRunner().run(["lock", "--spec", spec] + plainRegistry(server), timeout: hangLimit)
        expectRefused(result, saying: "not found in the registry")
    }

    func testEndlessHeadersAreCut() throws {
        let server = try HostileServer(scenario: "endless-headers")
        let (_, spec) = try specFor(server, images: ["small:1"])
        let result = try AirgapRunner().run(["lock", "--spec", spec] + plainRegistry(server), timeout: hangLimit)
        expectRefused(result, saying: "more than 262144 bytes for a response head")
    }

    func testEndlessRedirectBodyIsCutAndTheRedirectFollowed() throws {
        let server = try HostileServer(scenario: "endless-redirect")
        let (_, spec) = try specFor(server, images: ["small:1"])
        let result = try AirgapRunner().run(["lock", "--spec", spec] + plainRegistry(server), timeout: hangLimit)
        XCTAssertFalse(result.timedOut)
        XCTAssertEqual(result.status, 0, result.stderr)
    }

    func testEndlessLayerIsNotReadPastItsDeclaredSize() throws {
        let server = try HostileServer(scenario: "endless-blob")
        let (work, spec) = try specFor(server, images: ["small:1"])
        let result = try AirgapRunner().run(["pack", "--spec", spec, "--output", work.file("bundle.tar")] + plainRegistry(server), timeout: hangLimit)
        expectRefused(result, saying: "for a blob; refusing the rest")
        XCTAssertFalse(FileManager.default.fileExists(atPath: work.file("bundle.tar")))
    }

    func testEndlessChartIsCappedAtHelmsLimit() throws {
        let server = try HostileServer(scenario: "endless-chart")
        let (_, spec) = try specFor(server, images: ["small:1"], extra: "charts:\n  - {repo: \"http://\(server.host)/charts\", name: flink-cdc, version: 0.1.0}\n")
        let result = try AirgapRunner().run(["lock", "--spec", spec] + plainRegistry(server), timeout: hangLimit)
        expectRefused(result, saying: "more than 104857600 bytes for a chart archive")
    }

    func testEndlessJarIsCapped() throws {
        let server = try HostileServer(scenario: "endless-jar")
        let (_, spec) = try specFor(server, images: ["small:1"], extra: "jars:\n  repository: http://\(server.host)/maven\n  artifacts: [org.example:connector:1.0]\n")
        let result = try AirgapRunner().run(["lock", "--spec", spec] + plainRegistry(server), timeout: 180)
        expectRefused(result, saying: "more than 1073741824 bytes for a JAR")
    }

    func testTricklingBodyEndsWithinTheTimeout() throws {
        let server = try HostileServer(scenario: "trickle")
        let (_, spec) = try specFor(server, images: ["small:1"])
        let result = try AirgapRunner().run(["lock", "--spec", spec, "--timeout", "8"] + plainRegistry(server), timeout: 60)
        XCTAssertFalse(result.timedOut, result.stderr)
        XCTAssertNil(result.signal)
        XCTAssertEqual(result.status, 1, result.stderr)
        XCTAssertTrue(result.stderr.contains("stalled") || result.stderr.contains("--timeout"), result.stderr)
    }

    func testStalledBlobIsTriedOnceMoreThenRefused() throws {
        let server = try HostileServer(scenario: "stall-blob")
        let (work, spec) = try specFor(server, images: ["small:1"])
        let result = try AirgapRunner().run(["pack", "--spec", spec, "--output", work.file("bundle.tar"), "--timeout", "20"] + plainRegistry(server),
                                            timeout: 60)
        expectRefused(result, saying: "the server stalled")
        let stalls = server.requests().filter { $0["stalled"] as? Bool == true }.count
        XCTAssertEqual(stalls, 2, "one attempt and one retry")
    }

    // MARK: what a peer says reaches the terminal escaped

    func testServerMessageReachesTheTerminalEscapedOnOneLine() throws {
        let server = try HostileServer(scenario: "escape-error")
        let (_, spec) = try specFor(server, images: ["small:1"])
        let result = try AirgapRunner().run(["lock", "--spec", spec] + plainRegistry(server), timeout: hangLimit)
        XCTAssertEqual(result.status, 1, result.stderr)
        for raw in ["\u{1B}", "\r", "\u{0}"] { XCTAssertFalse(result.stderr.contains(raw), result.stderr) }
        XCTAssertEqual(result.stderr.filter { $0 == "\n" }.count, 1, result.stderr)
        XCTAssertFalse(result.stderr.contains("\nairgap: everything verified OK"))
    }

    func testNamesFromABundleReachTheTerminalEscaped() throws {
        let work = try TemporaryDirectory("hostile-work")
        let bundle = work.file("names.tar")
        try Command.check("python3", [Paths.fixture("hostile_bundle.py"), bundle, "--ref-name", "evil\u{1B}[2J\r\nairgap: forged OK\u{0}"])
        let result = try AirgapRunner().run(["inspect", bundle], timeout: hangLimit)
        XCTAssertEqual(result.status, 0, result.stderr)
        for raw in ["\u{1B}", "\r", "\u{0}"] { XCTAssertFalse(result.stdout.contains(raw), result.stdout) }
        XCTAssertTrue(result.stdout.contains("evil\\e[2J\\r\\nairgap: forged OK"), result.stdout)
        XCTAssertEqual(result.stdout.split(separator: "\n").count, 2, result.stdout)
    }

    func testEveryCommandThatTalksToTheNetworkTakesTimeout() throws {
        for command in ["lock", "pack", "push", "audit"] {
            let help = try AirgapRunner().run([command, "--help"])
            XCTAssertTrue(help.stdout.contains("--timeout"), "\(command): \(help.stdout)")
        }
    }
}
