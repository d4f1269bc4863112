import Foundation
import Manifests

/// A credential for one registry, and where it was found (named in errors, never its value).
public struct RegistryCredential: Sendable, CustomStringConvertible {
    public enum Secret: Sendable {
        case password(username: String, password: String)
        /// An OAuth2 refresh token (`identitytoken` in config.json, or a helper's `<token>` user).
        case identityToken(String)
    }

    public var secret: Secret
    public var source: String

    public init(secret: Secret, source: String) {
        self.secret = secret
        self.source = source
    }

    /// Never prints the secret itself.
    public var description: String { "credential from \(source)" }

    var basicAuthorization: String? {
        guard case .password(let username, let password) = secret else { return nil }
        return "Basic " + Data("\(username):\(password)".utf8).base64EncodedString()
    }
}

/// Finds credentials the way podman, skopeo and docker do, in this order: `--authfile`,
/// `$REGISTRY_AUTH_FILE`, `${XDG_RUNTIME_DIR}/containers/auth.json`,
/// `~/.config/containers/auth.json`, `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`.
/// In each file: `auths` (the most specific `host/namespace` key wins), then `credHelpers`
/// for the host, then the default `credsStore`.
/// Each auth file is read once per run and each credential helper run once per registry:
/// copies of a store share what was found.
public struct CredentialStore: Sendable {
    public var files: [String]
    /// Credentials given on the command line, by registry; they win over every file.
    public var explicit: [String: RegistryCredential]
    private let cache = CredentialCache()

    public init(files: [String], explicit: [String: RegistryCredential] = [:]) {
        self.files = files
        self.explicit = explicit
    }

    /// The standard search path, with `authFile` (from `--authfile`) first when given.
    public static func standard(authFile: String? = nil, environment: [String: String] = ProcessInfo.processInfo.environment) -> CredentialStore {
        var files: [String] = []
        if let authFile { files.append(authFile) }
        if let path = environment["REGISTRY_AUTH_FILE"], !path.isEmpty { files.append(path) }
        if let runtime = environment["XDG_RUNTIME_DIR"], !runtime.isEmpty { files.append("\(runtime)/containers/auth.json") }
        let home = environment["HOME"] ?? NSHomeDirectory()
        files.append("\(environment["XDG_CONFIG_HOME"] ?? "\(home)/.config")/containers/auth.json")
        files.append("\(environment["DOCKER_CONFIG"] ?? "\(home)/.docker")/config.json")
        return CredentialStore(files: files)
    }

    /// Refuses an auth file the operator named (`--authfile`) that is missing, unreadable or not
    /// an auth file, before any request: a typo must not fall through to anonymous access.
    public static func checkNamedAuthFile(_ path: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw CredentialError.missingFile(path)
        }
        guard !isDirectory.boolValue, let data = FileManager.default.contents(atPath: path) else {
            throw CredentialError.unreadableFile(path, detail: "cannot be read")
        }
        do { _ = try JSONDecoder().decode(AuthConfigFile.self, from: data) } catch {
            throw CredentialError.malformedFile(JSONErrorText.locate(error, in: data, source: path))
        }
    }

    /// The credential for `repository` on `registry` (as users name it: `docker.io`, `quay.io`).
    public func credential(registry: String, repository: String) throws -> RegistryCredential? {
        if let credential = explicit[registry] { return credential }
        for file in files {
            guard let config = try cache.file(file) else { continue }
            if let credential = try config.credential(registry: registry, repository: repository, file: file, helpers: cache) {
                return credential
            }
        }
        return nil
    }
}

/// What the auth files held and what the helpers answered, kept for the run.
final class CredentialCache: @unchecked Sendable {
    private let lock = NSLock()
    private var files: [String: AuthConfigFile?] = [:]
    private var helpers: [String: RegistryCredential?] = [:]

    func file(_ path: String) throws -> AuthConfigFile? {
        lock.lock()
        defer { lock.unlock() }
        if let known = files[path] { return known }
        var config: AuthConfigFile?
        if let data = FileManager.default.contents(atPath: path) {
            do { config = try JSONDecoder().decode(AuthConfigFile.self, from: data) } catch {
                throw CredentialError.malformedFile(JSONErrorText.locate(error, in: data, source: path))
            }
        }
        files[path] = .some(config)
        return config
    }

    func helper(_ name: String, registry: String) throws -> RegistryCredential? {
        let key = "\(name) \(registry)"
        lock.lock()
        defer { lock.unlock() }
        if let known = helpers[key] { return known }
        let credential = try CredentialHelper(name: name).get(registry: registry)
        helpers[key] = .some(credential)
        return credential
    }
}

public enum CredentialError: Error, CustomStringConvertible {
    case unreadableFile(String, detail: String)
    case missingFile(String)
    case malformedFile((location: String, detail: String))
    case malformedEntry(file: String, key: String)
    case helperFailed(helper: String, registry: String, detail: String)

    public var description: String {
        switch self {
        case .unreadableFile(let file, let detail):
            return "\(file): not a valid auth file (\(detail)); fix or remove it"
        case .malformedFile(let (location, detail)):
            return "\(location): not a valid auth file (\(detail)); fix it, or log in again to rewrite it"
        case .missingFile(let file):
            return "--authfile \(file): no such file; check the path, or log in first (`podman login --authfile \(file) REGISTRY`)"
        case .malformedEntry(let file, let key):
            return "\(file): the \"auth\" of \"\(key)\" is not base64 of user:password; log in again"
        case .helperFailed(let helper, let registry, let detail):
            return "docker-credential-\(helper) get \(registry) failed: \(detail); check that the helper is installed and logged in"
        }
    }
}

/// The shape shared by containers' auth.json and docker's config.json.
struct AuthConfigFile: Decodable {
    struct Entry: Decodable {
        var auth: String?
        var identitytoken: String?
    }

    var auths: [String: Entry]?
    var credHelpers: [String: String]?
    var credsStore: String?

    func credential(registry: String, repository: String, file: String, helpers: CredentialCache) throws -> RegistryCredential? {
        let normalized = Dictionary((auths ?? [:]).map { (Self.normalize($0.key), ($0.key, $0.value)) }, uniquingKeysWith: { first, _ in first })
        // Most specific first: host/ns/repo, host/ns, host.
        let components = repository.split(separator: "/").map(String.init)
        let candidates = (0...components.count).reversed().map { count in
            ([registry] + components.prefix(count)).joined(separator: "/")
        }
        for candidate in candidates {
            guard let (key, entry) = normalized[candidate] else { continue }
            if let token = entry.identitytoken, !token.isEmpty {
                return RegistryCredential(secret: .identityToken(token), source: file)
            }
            guard let auth = entry.auth, !auth.isEmpty else { continue }
            guard let decoded = Data(base64Encoded: auth).map({ String(decoding: $0, as: UTF8.self) }),
                  let colon = decoded.firstIndex(of: ":")
            else { throw CredentialError.malformedEntry(file: file, key: key) }
            return RegistryCredential(
                secret: .password(username: String(decoded[..<colon]), password: String(decoded[decoded.index(after: colon)...])),
                source: file)
        }
        let helperKey = credHelpers?.keys.first { Self.normalize($0) == registry }
        if let helper = helperKey.flatMap({ credHelpers?[$0] }) ?? credsStore, !helper.isEmpty {
            return try helpers.helper(helper, registry: registry)
        }
        return nil
    }

    /// `https://index.docker.io/v1/` → `docker.io`; `https://quay.io` → `quay.io`.
    static func normalize(_ key: String) -> String {
        var text = key
        for prefix in ["https://", "http://"] where text.hasPrefix(prefix) { text.removeFirst(prefix.count) }
        for suffix in ["/v1/", "/v2/", "/v1", "/v2", "/"] where text.hasSuffix(suffix) { text.removeLast(suffix.count) }
        if text == "index.docker.io" || text == "registry-1.docker.io" { return "docker.io" }
        return text
    }
}

/// A docker credential helper (`docker-credential-NAME get`), run with the registry on stdin.
struct CredentialHelper {
    var name: String

    func get(registry: String) throws -> RegistryCredential? {
        let serverURL = registry == "docker.io" ? "https://index.docker.io/v1/" : registry
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["docker-credential-\(name)", "get"]
        let input = Pipe(), output = Pipe(), errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        do { try process.run() } catch {
            throw CredentialError.helperFailed(helper: name, registry: registry, detail: "cannot start it (\(error.localizedDescription))")
        }
        input.fileHandleForWriting.write(Data(serverURL.utf8))
        try? input.fileHandleForWriting.close()
        let answer = output.fileHandleForReading.readDataToEndOfFile()
        let complaint = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let said = (String(decoding: answer, as: UTF8.self) + complaint).lowercased()
        if process.terminationStatus != 0 {
            // The helper protocol's way of saying "no entry" is a failure with this text.
            if said.contains("credentials not found") { return nil }
            if process.terminationStatus == 127 {
                throw CredentialError.helperFailed(helper: name, registry: registry, detail: "docker-credential-\(name) is not on PATH")
            }
            throw CredentialError.helperFailed(helper: name, registry: registry, detail: "exit \(process.terminationStatus)")
        }
        struct Answer: Decodable { var Username: String; var Secret: String }
        guard let parsed = try? JSONDecoder().decode(Answer.self, from: answer) else {
            throw CredentialError.helperFailed(helper: name, registry: registry, detail: "its answer is not the helper protocol's JSON")
        }
        let source = "credential helper docker-credential-\(name)"
        if parsed.Username == "<token>" { return RegistryCredential(secret: .identityToken(parsed.Secret), source: source) }
        return RegistryCredential(secret: .password(username: parsed.Username, password: parsed.Secret), source: source)
    }
}
