import Foundation

/// Credentials for a Maven repository (a Nexus or Artifactory mirror): from the environment
/// (`AIRGAP_MAVEN_USERNAME`, `AIRGAP_MAVEN_PASSWORD`), else from `~/.netrc` (or `$NETRC`), the
/// way curl and Maven wrappers find them. Never printed.
public struct MavenCredentials: Sendable {
    var username: String
    var password: String
    /// Where they came from, for messages.
    public var source: String

    var authorization: String { "Basic " + Data("\(username):\(password)".utf8).base64EncodedString() }

    public static func find(host: String, environment: [String: String] = ProcessInfo.processInfo.environment) -> MavenCredentials? {
        if let username = environment["AIRGAP_MAVEN_USERNAME"], let password = environment["AIRGAP_MAVEN_PASSWORD"] {
            return MavenCredentials(username: username, password: password, source: "AIRGAP_MAVEN_USERNAME/AIRGAP_MAVEN_PASSWORD")
        }
        let path = environment["NETRC"] ?? "\(environment["HOME"] ?? NSHomeDirectory())/.netrc"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        return parseNetrc(text, host: host, source: path)
    }

    /// `machine HOST login USER password PASS` entries, and `default`; the first match wins.
    static func parseNetrc(_ text: String, host: String, source: String) -> MavenCredentials? {
        let tokens = text.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" }).map(String.init)
        var index = 0
        var fallback: MavenCredentials?
        while index < tokens.count {
            let matches: Bool
            if tokens[index] == "machine", index + 1 < tokens.count {
                matches = tokens[index + 1] == host
                index += 2
            } else if tokens[index] == "default" {
                matches = false
                index += 1
                var login: String?, password: String?
                while index + 1 < tokens.count, ["login", "password", "account"].contains(tokens[index]) {
                    if tokens[index] == "login" { login = tokens[index + 1] }
                    if tokens[index] == "password" { password = tokens[index + 1] }
                    index += 2
                }
                if let login, let password { fallback = MavenCredentials(username: login, password: password, source: source) }
                continue
            } else {
                index += 1
                continue
            }
            var login: String?, password: String?
            while index + 1 < tokens.count, ["login", "password", "account"].contains(tokens[index]) {
                if tokens[index] == "login" { login = tokens[index + 1] }
                if tokens[index] == "password" { password = tokens[index + 1] }
                index += 2
            }
            if matches, let login, let password { return MavenCredentials(username: login, password: password, source: source) }
        }
        return fallback
    }
}
