import AirgapTestSupport
import Foundation
import XCTest

/// Errors an operator can act on: one line, naming the file, host, spec entry or mirror at
/// fault, with a fix that works, without Swift's type names, and before any work is wasted.
final class ErrorMessageTests: UpstreamTestCase {
    static var work: TemporaryDirectory!

    override class func setUp() {
        super.setUp()
        do {
            work = try TemporaryDirectory("errors")
            let spec = try upstream.spec("  - ref: docker.io/library/busybox:1", in: work)
            try AirgapRunner().check(["pack", "--spec", spec, "--output", work.file("bundle.tar")])
        } catch { fatalError("error fixture: \(error)") }
    }

    override class func tearDown() {
        work = nil
        super.tearDown()
    }

    var bundle: String { Self.work.file("bundle.tar") }

    private func assertOneLine(_ result: CommandResult, contains parts: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(result.status, 1, result.stderr, file: file, line: line)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr, file: file, line: line)
        for part in parts { XCTAssertTrue(result.stderr.contains(part), "expected \(part) in: \(result.stderr)", file: file, line: line) }
        for typeName in ["DecodingError", "dataCorrupted", "Swift.", "NSError", "Optional("] {
            XCTAssertFalse(result.stderr.contains(typeName), "a Swift internal in: \(result.stderr)", file: file, line: line)
        }
    }

    func testMissingAuthFileIsAnErrorOnEveryRegistryCommand() throws {
        let registry = try RegistryServer()
        let missing = Self.work.file("nope.json")
        let spec = try Self.upstream.spec("  - ref: docker.io/library/busybox:1", in: Self.work, name: "auth.yaml")
        for arguments in [["push", bundle, "--registry", registry.host, "--plain-http"], ["lock", "--spec", spec],
                          ["pack", "--spec", spec, "-o", Self.work.file("auth.tar")]] {
            let result = try AirgapRunner().run(arguments + ["--authfile", missing])
            assertOneLine(result, contains: ["--authfile \(missing): no such file"])
        }
        let audit = try AirgapRunner().run(["audit", "--bundle", bundle, "--registry", registry.host, "--plain-http", "--authfile", missing])
        XCTAssertEqual(audit.status, 2, "audit could not run: \(audit.stderr)")
        XCTAssertTrue(audit.stderr.contains("--authfile \(missing): no such file"), audit.stderr)
        XCTAssertEqual(registry.accessLog().components(separatedBy: "\"GET ").count, 1, "no request was made")
    }

    func testBrokenAuthFileNamesLineAndColumn() throws {
        let broken = try Self.work.write("broken-auth.json", "{\"auths\": {\n  \"127.0.0.1\": {\"auth\": }\n}}\n")
        let result = try AirgapRunner().run(["push", bundle, "--registry", "127.0.0.1:1", "--authfile", broken])
        assertOneLine(result, contains: ["\(broken):2:", "not a valid auth file"])
        let shape = try Self.work.write("shape-auth.json", "{\"auths\": {\"127.0.0.1\": {\"auth\": 5}}}\n")
        let wrongShape = try AirgapRunner().run(["push", bundle, "--registry", "127.0.0.1:1", "--authfile", shape])
        assertOneLine(wrongShape, contains: ["\(shape): not a valid auth file", "auths.127.0.0.1.auth: expected a string"])
    }

    func testCAFileThatIsMissingOrNotPEMIsRefused() throws {
        let notPEM = try Self.work.write("der.crt", "0\u{1}\u{2}binary\n")
        let result = try AirgapRunner().run(["push", bundle, "--registry", "127.0.0.1:1", "--ca-file", notPEM])
        assertOneLine(result, contains: ["--ca-file \(notPEM): holds no PEM certificate", "openssl x509 -inform der"])
        let missing = try AirgapRunner().run(["audit", "--bundle", bundle, "--registry", "127.0.0.1:1", "--ca-file", Self.work.file("none.crt")])
        XCTAssertEqual(missing.status, 2)
        XCTAssertTrue(missing.stderr.contains("--ca-file \(Self.work.file("none.crt")): no such file"), missing.stderr)
        let notFolder = try AirgapRunner().run(["push", bundle, "--registry", "127.0.0.1:1", "--cert-dir", notPEM])
        assertOneLine(notFolder, contains: ["--cert-dir \(notPEM): not a folder"])
    }

    func testConnectionRefusedNamesTheSpecEntryTheMirrorAndTheFix() throws {
        let closed = try freeLoopbackPort()
        let spec = try Self.work.write("refused.yaml", "images:\n  - ref: docker.io/library/busybox:1\nmirrors:\n  docker.io: http://127.0.0.1:\(closed)\n")
        let result = try AirgapRunner().run(["lock", "--spec", spec, "--lock", Self.work.file("refused.lock"), "--retry-times", "1"])
        assertOneLine(result, contains: ["images: docker.io/library/busybox:1", "the mirror for docker.io (http://127.0.0.1:\(closed)",
                                         "nothing answers at 127.0.0.1:\(closed)", "check that the server runs"])
        let push = try AirgapRunner().run(["push", bundle, "--registry", "127.0.0.1:\(closed)", "--plain-http", "--retry-times", "1"])
        assertOneLine(push, contains: ["--registry 127.0.0.1:\(closed)", "nothing answers at 127.0.0.1:\(closed)"])
    }

    func testHTTPSToAPlainServerSuggestsTheFlagsOfThatCommand() throws {
        let plain = try StaticHTTPServer(directory: Self.work.path)
        let host = "127.0.0.1:\(plain.port)"
        let result = try AirgapRunner().run(["audit", "--bundle", bundle, "--registry", host, "--retry-times", "1"])
        XCTAssertEqual(result.status, 2, result.stderr)
        XCTAssertTrue(result.stderr.contains("\(host): https://\(host)/v2/") && result.stderr.contains("TLS failed")
                      && result.stderr.contains("--insecure-registry \(host)") && result.stderr.contains("--ca-file"), result.stderr)
        // The advice works: the flag it names is accepted and gets past TLS.
        let advised = try AirgapRunner().run(["audit", "--bundle", bundle, "--registry", host, "--retry-times", "1", "--insecure-registry", host])
        XCTAssertFalse(advised.stderr.contains("TLS failed"), advised.stderr)
    }

    func testForbiddenPushSaysTheAccountMayNotPush() throws {
        let registry = try RegistryServer()
        let proxy = try FaultProxy(upstream: registry, options: ["--fail-substring", "/blobs/uploads/", "--fail-status", "403", "--fail-count", "100"])
        let result = try AirgapRunner().run(["push", bundle, "--registry", proxy.host, "--plain-http"])
        assertOneLine(result, contains: ["access denied", "UNAVAILABLE: injected", "may not push"])
        XCTAssertFalse(result.stderr.contains("may pull"), result.stderr)
    }

    func testRegistryErrorCodeAndMessageAreShown() throws {
        let registry = try RegistryServer()
        let proxy = try FaultProxy(upstream: registry, options: ["--fail-substring", "/manifests/", "--fail-method", "PUT", "--fail-status", "405",
                                                                 "--fail-count", "100"])
        let result = try AirgapRunner().run(["push", bundle, "--registry", proxy.host, "--plain-http"])
        assertOneLine(result, contains: ["405", "UNAVAILABLE: injected"])
    }

    func testOutputPathsAreCheckedBeforeAnyDownload() throws {
        let spec = try Self.upstream.spec("  - ref: docker.io/library/flink:1.17.1", in: Self.work, name: "output.yaml")
        let before = Self.upstream.registry.accessLog().count
        let folder = try AirgapRunner().run(["pack", "--spec", spec, "-o", Self.work.path])
        assertOneLine(folder, contains: ["--output \(Self.work.path): is a folder", "bundle.tar"])
        let missing = Self.work.file("no/such/folder/bundle.tar")
        let absent = try AirgapRunner().run(["pack", "--spec", spec, "-o", missing])
        assertOneLine(absent, contains: ["--output \(missing): the folder \(Self.work.file("no/such/folder")) does not exist", "mkdir -p"])
        XCTAssertFalse(absent.stderr.contains(".tmp"), "the temporary file is not what the operator named: \(absent.stderr)")
        XCTAssertEqual(Self.upstream.registry.accessLog().count, before, "nothing was fetched")
        let lock = try AirgapRunner().run(["lock", "--spec", spec, "--lock", Self.work.file("gone/bundle.lock")])
        assertOneLine(lock, contains: ["--lock \(Self.work.file("gone/bundle.lock")): the folder"])
    }

    func testBrokenLockfileIsOneLineWithItsPosition() throws {
        let lock = try Self.work.write("syntax.lock", "{\n  \"lockVersion\": 1,\n  \"images\": [}\n")
        let result = try AirgapRunner().run(["verify", bundle, "--lock", lock])
        assertOneLine(result, contains: ["\(lock):3:", "not an airgap lockfile", "airgap lock"])
        XCTAssertEqual(result.stderr.components(separatedBy: lock).count, 2, "the file is named once: \(result.stderr)")
    }

    func testNotATarIsNamedOnce() throws {
        let file = try Self.work.write("notatar.tar", "hello\n")
        for command in ["verify", "inspect"] {
            let result = try AirgapRunner().run([command, file])
            assertOneLine(result, contains: ["not a tar archive"])
            XCTAssertEqual(result.stderr.components(separatedBy: "notatar.tar").count, 2, "the file is named once: \(result.stderr)")
        }
    }

    func testYAMLSyntaxErrorIsOneLineWithLineAndColumn() throws {
        let spec = try Self.work.write("broken.yaml", "images:\n  - ref: [busybox\n")
        let result = try AirgapRunner().run(["lock", "--spec", spec])
        assertOneLine(result, contains: ["\(spec):3:1: not valid YAML", "did not find expected ',' or ']'", "line 2, column 10"])
    }
}
