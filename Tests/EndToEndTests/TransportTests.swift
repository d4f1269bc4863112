import AirgapTestSupport
import Foundation
import XCTest

/// The protocol paths a connected host meets in the field, produced by a fault-injecting front
/// (`Tests/Fixtures/fault_proxy.py`) before a real registry: token auth, redirects to blob
/// storage, 5xx and 429 answers, and connections dropped mid-blob.
final class TransportTests: UpstreamTestCase {
    private func pack(through proxy: FaultProxy, _ extra: [String] = [], airgap: AirgapRunner? = nil) throws -> (CommandResult, TemporaryDirectory) {
        let work = try TemporaryDirectory()
        let spec = try work.write("airgap.yaml", """
        images:
          - ref: docker.io/library/flink:1.17.1
            platforms: [linux/amd64, linux/arm64]
        mirrors:
          docker.io: http://\(proxy.host)
        """)
        let runner = try airgap ?? AirgapRunner()
        let result = try runner.run(["pack", "--spec", spec, "--output", work.file("bundle.tar")] + extra)
        return (result, work)
    }

    private func expectSuccess(_ result: CommandResult, _ work: TemporaryDirectory, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(result.status, 0, result.stderr, file: file, line: line)
        try AirgapRunner().check(["verify", work.file("bundle.tar")])
    }

    func testBearerTokenFlowWithCredentialsAsksForThePullScope() throws {
        let proxy = try FaultProxy(upstream: Self.upstream.registry, options: ["--bearer", "tokenuser:tokenpass"])
        let home = try AirgapRunner()
        let auth = try TestImages.authFile(in: home.home, host: proxy.host, user: "tokenuser", password: "tokenpass")
        let (result, work) = try pack(through: proxy, ["--authfile", auth], airgap: home)
        try expectSuccess(result, work)
        let requests = proxy.requests()
        let scopes = requests.filter { $0["role"] as? String == "token-request" }.flatMap { $0["scope"] as? [String] ?? [] }
        XCTAssertTrue(scopes.contains("repository:library/flink:pull"), "\(scopes)")
        XCTAssertTrue(requests.contains { $0["role"] as? String == "token" && $0["authorization"] as? String == "Basic" })
        XCTAssertEqual(requests.filter { $0["role"] as? String == "token" && $0["status"] as? Int == 200 }.count, 1,
                       "one token per scope, reused for every request")
    }

    func testIdentityTokenIsExchangedWithTheRefreshTokenGrant() throws {
        let proxy = try FaultProxy(upstream: Self.upstream.registry, options: ["--bearer", "nobody:unused", "--refresh-token", "id-token-123"])
        let home = try AirgapRunner()
        let auth = try home.home.write("auth.json", #"{"auths":{"\#(proxy.host)":{"identitytoken":"id-token-123"}}}"#)
        let (result, work) = try pack(through: proxy, ["--authfile", auth], airgap: home)
        try expectSuccess(result, work)
        XCTAssertTrue(proxy.requests().contains { ($0["grant"] as? [String]) == ["refresh_token"] })
        XCTAssertFalse(result.stderr.contains("id-token-123"))
    }

    func testUsernameAndPasswordOnStdinReachATokenAuthMirror() throws {
        let proxy = try FaultProxy(upstream: Self.upstream.registry, options: ["--bearer", "tokenuser:tokenpass"])
        let work = try TemporaryDirectory()
        let spec = try work.write("airgap.yaml", "images:\n  - ref: docker.io/library/busybox:1\nmirrors:\n  docker.io: http://\(proxy.host)\n")
        let result = try Command.run(AirgapRunner.binary, ["pack", "--spec", spec, "--output", work.file("bundle.tar"), "--username", "tokenuser",
                                                           "--password-stdin"],
                                     environment: try AirgapRunner().environment, input: Data("tokenpass\n".utf8))
        try expectSuccess(result, work)
        XCTAssertTrue(proxy.requests().contains { $0["role"] as? String == "token" && $0["status"] as? Int == 200 })
    }

    func testOnePasswordIsNotSentToSeveralRegistries() throws {
        let work = try TemporaryDirectory()
        let spec = try work.write("airgap.yaml", "images:\n  - ref: docker.io/library/busybox:1\n  - ref: quay.io/example/app:1\n")
        let result = try Command.run(AirgapRunner.binary, ["lock", "--spec", spec, "--username", "someone", "--password-stdin"],
                                     environment: try AirgapRunner().environment, input: Data("secret\n".utf8))
        XCTAssertEqual(result.status, 2, result.stderr)
        XCTAssertTrue(result.stderr.contains("docker.io, quay.io") && result.stderr.contains("--authfile"), result.stderr)
    }

    func testAnonymousBearerTokenNeedsNoCredentials() throws {
        let proxy = try FaultProxy(upstream: Self.upstream.registry, options: ["--anonymous-bearer"])
        let (result, work) = try pack(through: proxy)
        try expectSuccess(result, work)
        XCTAssertTrue(proxy.requests().contains { $0["role"] as? String == "token" && $0["authorization"] as? String == "" })
    }

    func testTokenServiceRefusingUsIsAClearError() throws {
        let proxy = try FaultProxy(upstream: Self.upstream.registry, options: ["--bearer", "tokenuser:tokenpass"])
        let (result, work) = try pack(through: proxy)
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("requires credentials"), result.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: work.file("bundle.tar")))
    }

    func testRedirectToBlobStorageDropsTheRegistryToken() throws {
        let proxy = try FaultProxy(upstream: Self.upstream.registry, options: ["--anonymous-bearer", "--redirect-blobs"])
        let (result, work) = try pack(through: proxy)
        try expectSuccess(result, work)
        let storage = proxy.requests().filter { $0["role"] as? String == "storage" }
        XCTAssertFalse(storage.isEmpty, "blobs came from the storage host")
        XCTAssertTrue(storage.allSatisfy { $0["authorization"] as? String == "" }, "no Authorization to another host: \(storage)")
        XCTAssertTrue(proxy.requests().contains { $0["role"] as? String == "registry" && $0["status"] as? Int == 307 && $0["authorization"] as? String == "Bearer" })
    }

    func testServerErrorsAreRetriedUntilTheRegistryRecovers() throws {
        let proxy = try FaultProxy(upstream: Self.upstream.registry, options: ["--fail-substring", "/blobs/", "--fail-status", "500", "--fail-count", "2"])
        let (result, work) = try pack(through: proxy, ["--jobs", "1"])
        try expectSuccess(result, work)
        XCTAssertEqual(proxy.requests().filter { $0["status"] as? Int == 500 }.count, 2)
        XCTAssertTrue(result.stderr.contains("retrying"), result.stderr)
    }

    func testTooManyRequestsIsRetried() throws {
        let proxy = try FaultProxy(upstream: Self.upstream.registry, options: ["--fail-substring", "/manifests/", "--fail-status", "429", "--fail-count", "1"])
        let (result, work) = try pack(through: proxy)
        try expectSuccess(result, work)
    }

    func testPersistentFailureGivesUpWithOneClearLine() throws {
        let proxy = try FaultProxy(upstream: Self.upstream.registry, options: ["--fail-substring", "/manifests/", "--fail-status", "503", "--fail-count", "100"])
        let (result, work) = try pack(through: proxy, ["--retry-times", "2"])
        XCTAssertEqual(result.status, 1)
        let lastLine = result.stderr.split(separator: "\n").last.map(String.init) ?? ""
        XCTAssertTrue(lastLine.hasPrefix("airgap: error: ") && lastLine.contains("HTTP 503"), result.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: work.file("bundle.tar")))
    }

    func testConnectionDroppedMidBlobResumesWithRange() throws {
        let proxy = try FaultProxy(upstream: Self.upstream.registry, options: ["--drop-after", "20000"])
        let (result, work) = try pack(through: proxy, ["--jobs", "1"])
        try expectSuccess(result, work)
        let requests = proxy.requests()
        XCTAssertTrue(requests.contains { $0["event"] as? String == "dropped" }, "the fault was injected")
        XCTAssertTrue(requests.contains { ($0["range"] as? String) == "bytes=20000-" && $0["status"] as? Int == 206 },
                      "resumed where the connection broke: \(requests.filter { $0["range"] is String })")
    }
}
