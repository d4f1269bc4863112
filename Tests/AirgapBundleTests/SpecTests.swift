import AirgapBundle
import Manifests
import XCTest

final class SpecTests: XCTestCase {
    func testPlatformsDefaultToLinuxAmd64AndAllIsKept() throws {
        let spec = try BundleSpec.parse("""
        images:
          - ref: flink:1.17.1
          - ref: quay.io/org/app:2
            platforms: all
          - ref: docker.io/library/kafka:3
            platforms: [linux/amd64, linux/arm64/v8]
        mirrors:
          docker.io: http://127.0.0.1:5000
        """, path: "airgap.yaml")
        XCTAssertEqual(spec.images.map(\.reference.description),
                       ["docker.io/library/flink:1.17.1", "quay.io/org/app:2", "docker.io/library/kafka:3"])
        XCTAssertEqual(spec.images[0].platforms, .some([Platform(os: "linux", architecture: "amd64")]))
        XCTAssertFalse(spec.images[0].platformsExplicit)
        XCTAssertEqual(spec.images[1].platforms, .all)
        XCTAssertEqual(spec.images[2].platforms.description, "linux/amd64,linux/arm64/v8")
        XCTAssertEqual(spec.mirrors["docker.io"]?.absoluteString, "http://127.0.0.1:5000")
    }

    func testMistakesNameTheKeyPath() {
        let cases: [(String, String)] = [
            ("imagez: []", "imagez: unknown key"),
            ("images: []", "images: must be a non-empty list"),
            ("images:\n  - ref: Flink", "images[0].ref: invalid image reference"),
            ("images:\n  - ref: flink\n  - ref: docker.io/library/flink:latest", "images[1].ref: docker.io/library/flink:latest is listed twice"),
            ("images:\n  - ref: flink\n    platforms: [linux]", "images[0].platforms: invalid platform \"linux\""),
            ("images:\n  - ref: flink\nmirrors:\n  docker.io: ftp://x", "mirrors.docker.io: expected an http:// or https:// URL"),
            ("images: [flink\n", "spec.yaml:2:1: not valid YAML"),
        ]
        for (yaml, expected) in cases {
            XCTAssertThrowsError(try BundleSpec.parse(yaml, path: "spec.yaml"), yaml) { error in
                XCTAssertTrue("\(error)".hasPrefix("spec.yaml: ") || "\(error)".hasPrefix("spec.yaml:2:1: "), "\(error)")
                XCTAssertTrue("\(error)".contains(expected), "expected \(expected) in \(error)")
            }
        }
    }

    func testMirrorFlagParses() throws {
        let (registry, url) = try RegistryHosts.parseMirror("docker.io=http://127.0.0.1:5000")
        XCTAssertEqual(registry, "docker.io")
        XCTAssertEqual(RegistryHosts(mirrors: [registry: url]).endpoint(for: "docker.io").baseURL, url)
        XCTAssertEqual(RegistryHosts().endpoint(for: "docker.io").baseURL.absoluteString, "https://registry-1.docker.io")
        XCTAssertEqual(RegistryHosts(insecure: ["reg:5000"]).endpoint(for: "reg:5000").baseURL.absoluteString, "http://reg:5000")
        XCTAssertThrowsError(try RegistryHosts.parseMirror("docker.io"))
    }
}

final class AuthTests: XCTestCase {
    func testBearerChallengeWithQuotedCommas() throws {
        let challenge = try XCTUnwrap(AuthChallenge(header: #"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/flink:pull,push""#))
        XCTAssertEqual(challenge.scheme, .bearer)
        XCTAssertEqual(challenge.realm, "https://auth.docker.io/token")
        XCTAssertEqual(challenge.service, "registry.docker.io")
        XCTAssertEqual(challenge.parameters["scope"], "repository:library/flink:pull,push")
        XCTAssertEqual(AuthChallenge(header: #"Basic realm="Registry Realm""#)?.scheme, .basic)
        XCTAssertNil(AuthChallenge(header: "Negotiate"))
    }

    private func store(_ json: String, registry: String, repository: String = "library/flink") throws -> RegistryCredential? {
        let file = NSTemporaryDirectory() + "auth-\(UUID().uuidString).json"
        try json.write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        return try CredentialStore(files: ["/nonexistent/auth.json", file]).credential(registry: registry, repository: repository)
    }

    func testDockerHubLegacyKeyAndMostSpecificNamespaceWin() throws {
        let general = Data("general:pw".utf8).base64EncodedString()
        let specific = Data("specific:pw".utf8).base64EncodedString()
        let json = #"{"auths":{"https://index.docker.io/v1/":{"auth":"\#(general)"},"docker.io/library":{"auth":"\#(specific)"}}}"#
        guard case .password(let user, _)? = try store(json, registry: "docker.io")?.secret else { return XCTFail("no credential") }
        XCTAssertEqual(user, "specific")
        guard case .password(let other, _)? = try store(json, registry: "docker.io", repository: "bitnami/kafka")?.secret else {
            return XCTFail("no credential")
        }
        XCTAssertEqual(other, "general")
        XCTAssertNil(try store(json, registry: "quay.io"))
    }

    func testMalformedAuthIsAnErrorNamingTheFileNotTheSecret() {
        XCTAssertThrowsError(try store(#"{"auths":{"quay.io":{"auth":"bm90LWEtcGFpcg=="}}}"#, registry: "quay.io")) { error in
            XCTAssertTrue("\(error)".contains("\"quay.io\""), "\(error)")
            XCTAssertFalse("\(error)".contains("bm90"), "\(error)")
        }
    }

    func testCredentialDescriptionNeverShowsTheSecret() {
        let credential = RegistryCredential(secret: .password(username: "u", password: "hunter2"), source: "/x/auth.json")
        XCTAssertFalse("\(credential)".contains("hunter2"))
    }
}
