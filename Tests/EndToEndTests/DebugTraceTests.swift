import AirgapTestSupport
import Foundation
import XCTest

/// `--debug` prints every request a push makes (method, URL, status, bytes, time), one line per
/// request the server saw, and never a secret: not the password, not the Basic header built from
/// it, not a bearer token the token service handed out.
final class DebugTraceTests: XCTestCase {
    static var upstream: UpstreamFixture!
    static var work: TemporaryDirectory!
    static let user = "tracer", password = "Tr4ce-s3cret!"

    override class func setUp() {
        super.setUp()
        do {
            upstream = try UpstreamFixture()
            work = try TemporaryDirectory("debug")
            let spec = try upstream.spec("  - ref: docker.io/library/busybox:1", in: work)
            try AirgapRunner().check(["pack", "--spec", spec, "--output", work.file("bundle.tar")])
        } catch { fatalError("debug fixture: \(error)") }
    }

    override class func tearDown() {
        upstream = nil
        work = nil
        super.tearDown()
    }

    var bundle: String { Self.work.file("bundle.tar") }

    /// `METHOD PATH STATUS` for each request line `--debug` printed.
    private func traced(_ stderr: String) -> [String] {
        stderr.split(separator: "\n").compactMap { line -> String? in
            guard line.hasPrefix("airgap: debug: "), let arrow = line.range(of: " -> ") else { return nil }
            let request = line[line.index(line.startIndex, offsetBy: "airgap: debug: ".count)..<arrow.lowerBound].split(separator: " ")
            guard request.count == 2, let url = URLComponents(string: String(request[1])) else { return nil }
            let status = line[arrow.upperBound...].prefix(3)
            return "\(request[0]) \(url.path) \(status)"
        }.sorted()
    }

    /// Each traced line also carries the byte counts and the time.
    private func assertLinesAreComplete(_ stderr: String, file: StaticString = #filePath, line: UInt = #line) {
        for text in stderr.split(separator: "\n") where text.hasPrefix("airgap: debug: ") && text.contains(" -> ") {
            XCTAssertNotNil(text.range(of: #" -> \d{3} \(sent \d+ B, received \d+ B, \d+ ms\)$"#, options: .regularExpression),
                            "incomplete trace line: \(text)", file: file, line: line)
        }
    }

    private func assertNoSecret(_ stderr: String, _ secrets: [String], file: StaticString = #filePath, line: UInt = #line) {
        for secret in secrets + ["Authorization", "Basic ", "Bearer "] {
            XCTAssertFalse(stderr.contains(secret), "stderr shows \(secret):\n\(stderr)", file: file, line: line)
        }
    }

    func testPushWithAPasswordShowsEveryRequestTheRegistryServedAndNoSecret() throws {
        let registry = try RegistryServer(tls: true, users: [Self.user: Self.password])
        let result = try Command.run(AirgapRunner.binary, ["push", bundle, "--registry", registry.host, "--username", Self.user,
                                                           "--password-stdin", "--ca-file", registry.caFile, "--debug"],
                                     environment: try AirgapRunner().environment, input: Data("\(Self.password)\n".utf8))
        XCTAssertEqual(result.status, 0, result.stderr)
        // The registry's access log, in the combined log format: "METHOD PATH PROTO" STATUS.
        let served = registry.accessLog().split(separator: "\n").compactMap { line -> String? in
            guard let range = line.range(of: #"\"(GET|HEAD|POST|PUT|PATCH|DELETE) \S+ HTTP/[0-9.]+\" \d{3}"#, options: .regularExpression) else { return nil }
            let parts = line[range].split(separator: " ")
            let path = parts[1].split(separator: "?", maxSplits: 1).first.map(String.init) ?? ""
            return "\(parts[0].dropFirst()) \(path) \(parts[3])"
        }.sorted()
        let shown = traced(result.stderr)
        XCTAssertGreaterThan(served.count, 5, registry.accessLog())
        XCTAssertEqual(shown, served, "every request the registry served, and only those, is a --debug line")
        XCTAssertTrue(shown.contains { $0.hasPrefix("PUT ") && $0.contains("/manifests/") && $0.hasSuffix(" 201") }, "\(shown)")
        XCTAssertTrue(shown.contains { $0.hasSuffix(" 401") }, "the challenge is shown too: \(shown)")
        assertLinesAreComplete(result.stderr)
        assertNoSecret(result.stderr, [Self.password, Data("\(Self.user):\(Self.password)".utf8).base64EncodedString()])
    }

    func testPushThroughTokenAuthShowsTheTokenRequestsAndNoToken() throws {
        let registry = try RegistryServer()
        let proxy = try FaultProxy(upstream: registry, options: ["--bearer", "\(Self.user):\(Self.password)"])
        let result = try Command.run(AirgapRunner.binary, ["push", bundle, "--registry", proxy.host, "--plain-http", "--username", Self.user,
                                                           "--password-stdin", "-v"],
                                     environment: try AirgapRunner().environment, input: Data("\(Self.password)\n".utf8))
        XCTAssertEqual(result.status, 0, result.stderr)
        let log = proxy.requests()
        let served = log.compactMap { entry -> String? in
            guard let method = entry["method"] as? String, let path = entry["path"] as? String, let status = entry["status"] as? Int else { return nil }
            return "\(method) \(path.split(separator: "?", maxSplits: 1).first.map(String.init) ?? "") \(status)"
        }.sorted()
        let shown = traced(result.stderr)
        XCTAssertTrue(shown.contains { $0.hasPrefix("GET /token ") }, "the token request is shown: \(shown)")
        XCTAssertEqual(shown, served, "every request the proxy saw, token service included, is a --debug line")
        assertLinesAreComplete(result.stderr)
        let tokens = log.compactMap { $0["token"] as? String }
        XCTAssertFalse(tokens.isEmpty, "the proxy handed out no token")
        assertNoSecret(result.stderr, tokens + [Self.password, Data("\(Self.user):\(Self.password)".utf8).base64EncodedString()])
    }

    func testTraceShowsRetryDecisions() throws {
        let registry = try RegistryServer()
        let proxy = try FaultProxy(upstream: registry, options: ["--fail-substring", "/v2/library/busybox/manifests/", "--fail-status", "503",
                                                                 "--fail-count", "100", "--fail-method", "PUT"])
        let result = try AirgapRunner().run(["push", bundle, "--registry", proxy.host, "--plain-http", "--retry-times", "2", "--debug"])
        XCTAssertEqual(result.status, 1, result.stderr)
        XCTAssertTrue(result.stderr.contains("airgap: retrying "), "\(result.stderr)\nthe proxy saw: \(proxy.requests())")
        XCTAssertTrue(result.stderr.contains("airgap: debug: retry: giving up on PUT "), result.stderr)
        XCTAssertTrue(result.stderr.contains("503"), result.stderr)
    }

    func testWithoutDebugNoRequestIsPrinted() throws {
        let registry = try RegistryServer()
        let result = try AirgapRunner().run(["push", bundle, "--registry", registry.host, "--plain-http"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertFalse(result.stderr.contains("debug:"), result.stderr)
    }
}
