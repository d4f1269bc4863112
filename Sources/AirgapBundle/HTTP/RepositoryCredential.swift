import Foundation

/// The credential for a Maven or Helm repository, from the credential sources only: the
/// environment (`AIRGAP_MAVEN_USERNAME`/`AIRGAP_MAVEN_PASSWORD`, or `AIRGAP_HELM_…` for a Helm
/// repository), else `~/.netrc` (or `$NETRC`), the way curl and Maven wrappers find them.
/// Never printed, never recorded; a repository URL with user info is refused where it is read.
public struct RepositoryCredential: Sendable {
    public enum Kind: String, Sendable {
        case maven = "MAVEN", helm = "HELM"
        var usernameVariable: String { "AIRGAP_\(rawValue)_USERNAME" }
        var passwordVariable: String { "AIRGAP_\(rawValue)_PASSWORD" }
    }

    var username: String
    var password: String
    /// Where it came from, for messages.
    public var source: String

    var authorization: String { "Basic " + Data("\(username):\(password)".utf8).base64EncodedString() }

    public static func find(_ kind: Kind, host: String, environment: [String: String] = ProcessInfo.processInfo.environment) -> RepositoryCredential? {
        if let username = environment[kind.usernameVariable], let password = environment[kind.passwordVariable] {
            return RepositoryCredential(username: username, password: password, source: "\(kind.usernameVariable)/\(kind.passwordVariable)")
        }
        let path = environment["NETRC"] ?? "\(environment["HOME"] ?? NSHomeDirectory())/.netrc"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        return parseNetrc(text, host: host, source: path)
    }

    /// `machine HOST login USER password PASS` entries, and `default`; the first match wins.
    static func parseNetrc(_ text: String, host: String, source: String) -> RepositoryCredential? {
        let tokens = text.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" }).map(String.init)
        var index = 0
        var fallback: RepositoryCredential?
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
                if let login, let password { fallback = RepositoryCredential(username: login, password: password, source: source) }
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
            if matches, let login, let password { return RepositoryCredential(username: login, password: password, source: source) }
        }
        return fallback
    }
}
