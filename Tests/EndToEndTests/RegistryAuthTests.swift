import AirgapTestSupport
import Foundation
import XCTest

/// Pulling from a TLS registry with htpasswd users, as an enclave-facing or private upstream
/// registry is set up.
final class RegistryAuthTests: XCTestCase {
    static var secure: RegistryServer!
    static let user = "puller", password = "s3cret-Pa55"

    override class func setUp() {
        super.setUp()
        do {
            secure = try RegistryServer(tls: true, users: [user: password])
            let layouts = try TemporaryDirectory("layouts")
            try TestImages.build(layout: layouts.file("oci"), ref: "busybox", layers: 2, seed: "secure")
            try TestImages.push(layout: layouts.file("oci"), ref: "busybox", to: secure, repository: "library/busybox:1",
                                credentials: "\(user):\(password)")
        } catch { fatalError("secure registry fixture: \(error)") }
    }

    override class func tearDown() {
        secure = nil
        super.tearDown()
    }

    private var registry: RegistryServer { Self.secure }

    private func spec(in work: TemporaryDirectory) throws -> String {
        try work.write("airgap.yaml", "images:\n  - ref: \(registry.host)/library/busybox:1\n")
    }

    func testAuthFileAndCAFileLetPackThrough() throws {
        let work = try TemporaryDirectory()
        let airgap = try AirgapRunner()
        let auth = try TestImages.authFile(in: work, host: registry.host, user: Self.user, password: Self.password)
        let result = try airgap.check(["pack", "--spec", try spec(in: work), "--output", work.file("bundle.tar"),
                                       "--authfile", auth, "--ca-file", registry.caFile])
        XCTAssertFalse(result.stdout.contains(Self.password) || result.stderr.contains(Self.password), "credentials are never printed")
        try airgap.check(["verify", work.file("bundle.tar")])
    }

    func testRegistryAuthFileEnvironmentAndCertsDirectoryConvention() throws {
        let work = try TemporaryDirectory()
        var airgap = try AirgapRunner()
        airgap.extraEnvironment["REGISTRY_AUTH_FILE"] = try TestImages.authFile(in: work, host: registry.host, user: Self.user, password: Self.password)
        let certs = work.file("certs.d/\(registry.host)")
        try FileManager.default.createDirectory(atPath: certs, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: registry.caFile, toPath: "\(certs)/ca.crt")
        try airgap.check(["pack", "--spec", try spec(in: work), "--output", work.file("bundle.tar"), "--certs-dir", work.file("certs.d")])
    }

    func testDockerConfigCredentialHelperIsAsked() throws {
        let work = try TemporaryDirectory()
        var airgap = try AirgapRunner()
        let bin = work.file("bin")
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        let helper = try work.write("bin/docker-credential-airgaptest", """
        #!/bin/sh
        read server
        [ "$server" = "\(registry.host)" ] || { echo "credentials not found in native keychain"; exit 1; }
        printf '{"ServerURL":"%s","Username":"\(Self.user)","Secret":"\(Self.password)"}' "$server"
        """)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: helper)
        _ = try airgap.home.write(".docker/config.json", #"{"credHelpers":{"\#(registry.host)":"airgaptest"}}"#)
        airgap.extraEnvironment["PATH"] = "\(bin):" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        try airgap.check(["pack", "--spec", try spec(in: work), "--output", work.file("bundle.tar"), "--ca-file", registry.caFile])
    }

    func testClientCertificateFromCertsDirectoryForMutualTLS() throws {
        let pki = try TemporaryDirectory("pki")
        try Command.check("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=airgap-test-client-ca",
                                      "-keyout", pki.file("client-ca.key"), "-out", pki.file("client-ca.crt")])
        try Command.check("openssl", ["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=airgap", "-keyout", pki.file("client.key"), "-out", pki.file("client.csr")])
        try Command.check("openssl", ["x509", "-req", "-in", pki.file("client.csr"), "-CA", pki.file("client-ca.crt"), "-CAkey", pki.file("client-ca.key"),
                                      "-CAcreateserial", "-days", "1", "-out", pki.file("client.cert")])
        let mutual = try RegistryServer(tls: true, clientCA: pki.file("client-ca.crt"))
        let layouts = try TemporaryDirectory("layouts")
        try TestImages.build(layout: layouts.file("oci"), ref: "busybox", layers: 1, seed: "mtls")
        let skopeoCerts = layouts.file("skopeo-certs")
        try FileManager.default.createDirectory(atPath: skopeoCerts, withIntermediateDirectories: true)
        for (source, name) in [(mutual.caFile, "ca.crt"), (pki.file("client.cert"), "client.cert"), (pki.file("client.key"), "client.key")] {
            try FileManager.default.copyItem(atPath: source, toPath: "\(skopeoCerts)/\(name)")
        }
        try Command.check("skopeo", ["copy", "--quiet", "--preserve-digests", "--dest-cert-dir", skopeoCerts, "oci:\(layouts.file("oci")):busybox",
                                     "docker://\(mutual.host)/library/busybox:1"])

        let work = try TemporaryDirectory()
        let spec = try work.write("airgap.yaml", "images:\n  - ref: \(mutual.host)/library/busybox:1\n")
        let certs = work.file("certs.d/\(mutual.host)")
        try FileManager.default.createDirectory(atPath: certs, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: mutual.caFile, toPath: "\(certs)/ca.crt")
        let refused = try AirgapRunner().run(["pack", "--spec", spec, "--output", work.file("bundle.tar"), "--certs-dir", work.file("certs.d")])
        XCTAssertEqual(refused.status, 1, "no client certificate yet")
        XCTAssertTrue(refused.stderr.contains("client certificate"), refused.stderr)
        // The server's refusal sometimes lands first as a reset connection (retried, rightly: it
        // is a connection error); the certificate alert itself must end it.
        let retries = refused.stderr.split(separator: "\n").filter { $0.contains("retrying") }
        XCTAssertFalse(retries.contains { $0.contains("bad certificate") }, "a refused certificate is not retried: \(refused.stderr)")
        XCTAssertTrue(refused.stderr.split(separator: "\n").last?.contains("refused the client certificate") == true, refused.stderr)
        for name in ["client.cert", "client.key"] { try FileManager.default.copyItem(atPath: pki.file(name), toPath: "\(certs)/\(name)") }
        try AirgapRunner().check(["pack", "--spec", spec, "--output", work.file("bundle.tar"), "--certs-dir", work.file("certs.d")])
    }

    func testWithoutCredentialsTheErrorSaysHowToLogIn() throws {
        let work = try TemporaryDirectory()
        let result = try AirgapRunner().run(["pack", "--spec", try spec(in: work), "--output", work.file("bundle.tar"), "--ca-file", registry.caFile])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("\(registry.host)/library/busybox: the registry requires credentials"), result.stderr)
        XCTAssertTrue(result.stderr.contains("--authfile"), result.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: work.file("bundle.tar")))
    }

    func testWrongPasswordNamesTheFileItCameFrom() throws {
        let work = try TemporaryDirectory()
        let auth = try TestImages.authFile(in: work, host: registry.host, user: Self.user, password: "wrong")
        let result = try AirgapRunner().run(["pack", "--spec", try spec(in: work), "--output", work.file("bundle.tar"),
                                             "--authfile", auth, "--ca-file", registry.caFile])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("the credentials from \(auth) were rejected"), result.stderr)
        XCTAssertFalse(result.stderr.contains("wrong"), "the password is never printed: \(result.stderr)")
    }

    func testUnknownCAIsATLSErrorWithTheFix() throws {
        let work = try TemporaryDirectory()
        let auth = try TestImages.authFile(in: work, host: registry.host, user: Self.user, password: Self.password)
        let result = try AirgapRunner().run(["pack", "--spec", try spec(in: work), "--output", work.file("bundle.tar"), "--authfile", auth])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("TLS failed"), result.stderr)
        XCTAssertTrue(result.stderr.contains("--ca-file"), result.stderr)
        XCTAssertTrue(result.stderr.contains("certs.d/\(registry.host)/ca.crt"), result.stderr)
    }
}
