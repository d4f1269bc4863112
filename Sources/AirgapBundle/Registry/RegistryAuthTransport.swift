import Foundation

/// The auth layer of one registry: discovers its scheme with `GET /v2/` (once), answers Basic
/// and Bearer challenges, caches tokens per scope, and looks the credential up once per
/// repository (auth files are read and helpers run once per run, by `CredentialStore`).
///
/// Credentials go only to the registry's own origin: a request for any other origin (an upload
/// `Location` or a redirect elsewhere) passes with no `Authorization`. A Bearer realm must be
/// HTTPS unless the registry itself was named plain-HTTP; the Basic credential (or refresh
/// token) goes to a realm on another origin only over HTTPS — as go-containerregistry does.
final class RegistryAuthTransport: HTTPTransport, @unchecked Sendable {
    let endpoint: RegistryEndpoint
    let credentials: CredentialStore
    let inner: HTTPTransport
    let tokenTransport: HTTPTransport

    private let lock = NSLock()
    /// Many images resolved at once all start with a ping: one goes out, the rest wait for it.
    private let pinged = OnceMap<Int, Bool>()
    private var challenge: AuthChallenge?
    /// Tokens by scope; parallel requests for one scope share one token request.
    private let tokens = OnceMap<String, String>()
    private var found: [String: RegistryCredential?] = [:]

    init(endpoint: RegistryEndpoint, credentials: CredentialStore, inner: HTTPTransport, tokenTransport: HTTPTransport) {
        self.endpoint = endpoint
        self.credentials = credentials
        self.inner = inner
        self.tokenTransport = tokenTransport
    }

    func send(_ request: HTTPRequest, onHead: HeadHandler, into sink: BodySink) throws -> HTTPResponse {
        var request = request
        guard request.url.origin == endpoint.baseURL.origin else {
            request.setHeader("Authorization", nil)
            return try inner.send(request, onHead: onHead, into: sink)
        }
        try ping()
        let scope = request.scopes.joined(separator: " ")
        let repository = Self.repository(in: request.scopes)
        request.setHeader("Authorization", try authorization(scope: scope, repository: repository, refresh: false))
        var response = try inner.send(request, onHead: onHead, into: sink)
        if response.status == 401 {
            request.setHeader("Authorization", try authorization(scope: scope, repository: repository, refresh: true,
                                                                 challengeHeader: response.header("www-authenticate")))
            response = try inner.send(request, onHead: onHead, into: sink)
            if response.status == 401 {
                if let credential = try credential(for: repository) {
                    throw RegistryError.credentialsRejected(registry: endpoint.credentialKey, source: credential.source)
                }
                throw RegistryError.authenticationRequired(registry: endpoint.credentialKey, repository: repository)
            }
        }
        return response
    }

    /// `repository:NAME:ACTIONS` → NAME, for the credential lookup (auth files key by path).
    static func repository(in scopes: [String]) -> String {
        guard let first = scopes.first?.split(separator: ":"), first.count >= 3, first[0] == "repository" else { return "" }
        return first[1...(first.count - 2)].joined(separator: ":")
    }

    /// `GET /v2/` once, to learn whether and how the registry wants authentication.
    private func ping() throws {
        _ = try pinged.value(for: 0) {
            let url = endpoint.url("/v2/")
            let response = try inner.send(HTTPRequest(url: url)) { _ in }
            if RetryPolicy.isRetryable(status: response.status) {
                throw RegistryError.unexpectedStatus(url: url, status: response.status, detail: ErrorBody.detail(response.errorBody), retryAfter: nil)
            }
            guard response.isSuccess || response.status == 401 else {
                throw RegistryError.notARegistry(url: url, status: response.status)
            }
            lock.lock()
            challenge = response.status == 401 ? response.headerValues("www-authenticate").lazy.compactMap(AuthChallenge.init(header:)).first : nil
            lock.unlock()
            return true
        }
    }

    /// The credential for `repository`, looked up once.
    private func credential(for repository: String) throws -> RegistryCredential? {
        lock.lock()
        if let cached = found[repository] { lock.unlock(); return cached }
        lock.unlock()
        let credential = try credentials.credential(registry: endpoint.credentialKey, repository: repository)
        lock.lock()
        found[repository] = .some(credential)
        lock.unlock()
        return credential
    }

    /// The `Authorization` value for `scope`, or nil when the registry wants none.
    private func authorization(scope: String, repository: String, refresh: Bool, challengeHeader: String? = nil) throws -> String? {
        lock.lock()
        if let header = challengeHeader, let fresh = AuthChallenge(header: header) { challenge = fresh }
        let current = challenge
        lock.unlock()
        guard let current else { return nil }

        switch current.scheme {
        case .basic:
            guard let basic = try credential(for: repository)?.basicAuthorization else {
                throw RegistryError.authenticationRequired(registry: endpoint.credentialKey, repository: repository)
            }
            return basic
        case .bearer:
            let fetch = { () throws -> String in
                // The challenge that came with a 401 may name a wider scope (e.g. for a mount).
                let scopes = Set(scope.split(separator: " ").map(String.init) + (current.parameters["scope"].map { [$0] } ?? []))
                return try self.fetchToken(challenge: current, scopes: scopes.sorted(), credential: try self.credential(for: repository),
                                           repository: repository)
            }
            if refresh {
                let token = try fetch()
                tokens.set(token, for: scope)
                return "Bearer \(token)"
            }
            return "Bearer \(try tokens.value(for: scope, compute: fetch))"
        }
    }

    /// The realm a challenge names, if airgap may use it: HTTPS, or HTTP for a registry the
    /// operator named plain-HTTP. Whether the credential may go there is a second question.
    private func realm(of challenge: AuthChallenge) throws -> (url: URL, mayCarryCredential: Bool) {
        guard let text = challenge.realm, let url = URL(string: text), let scheme = url.scheme?.lowercased(), url.host != nil,
              scheme == "https" || scheme == "http"
        else { throw RegistryError.badTokenResponse(realm: challenge.realm ?? endpoint.name, detail: "the challenge names no usable realm") }
        let registryIsPlain = endpoint.baseURL.scheme?.lowercased() == "http"
        if scheme == "http", !registryIsPlain {
            throw RegistryError.insecureRealm(registry: endpoint.name, realm: url.redactedString)
        }
        return (url, scheme == "https" || url.origin == endpoint.baseURL.origin)
    }

    /// The token flow of the distribution spec: GET the realm with service and scope, with Basic
    /// credentials when there are some (anonymous otherwise); an identity token is exchanged with
    /// the OAuth2 `refresh_token` grant instead.
    private func fetchToken(challenge: AuthChallenge, scopes: [String], credential: RegistryCredential?, repository: String) throws -> String {
        let (realmURL, mayCarry) = try realm(of: challenge)
        let sent = mayCarry ? credential : nil
        var components = URLComponents(url: realmURL, resolvingAgainstBaseURL: false)!
        var request: HTTPRequest
        if case .identityToken(let refreshToken)? = sent?.secret {
            var form = URLComponents()
            form.queryItems = [URLQueryItem(name: "grant_type", value: "refresh_token"),
                               URLQueryItem(name: "refresh_token", value: refreshToken),
                               URLQueryItem(name: "client_id", value: "airgap")]
                + (challenge.service.map { [URLQueryItem(name: "service", value: $0)] } ?? [])
                + [URLQueryItem(name: "scope", value: scopes.joined(separator: " "))]
            request = HTTPRequest(method: "POST", url: realmURL,
                                  headers: [("Content-Type", "application/x-www-form-urlencoded")],
                                  body: .data(Data((form.percentEncodedQuery ?? "").utf8)))
        } else {
            components.queryItems = (components.queryItems ?? [])
                + (challenge.service.map { [URLQueryItem(name: "service", value: $0)] } ?? [])
                + scopes.map { URLQueryItem(name: "scope", value: $0) }
            request = HTTPRequest(url: components.url!)
            request.setHeader("Authorization", sent?.basicAuthorization)
        }
        let (response, body) = try tokenTransport.collect(request, limit: TransferLimits.tokenLimit, what: "token")
        if response.status == 401 || response.status == 403 {
            if credential != nil, sent == nil {
                throw RegistryError.credentialsWithheld(registry: endpoint.name, realm: realmURL.redactedString)
            }
            if let credential { throw RegistryError.credentialsRejected(registry: endpoint.credentialKey, source: credential.source) }
            throw RegistryError.authenticationRequired(registry: endpoint.credentialKey, repository: repository)
        }
        guard response.isSuccess else {
            throw RegistryError.badTokenResponse(realm: realmURL.redactedString, detail: "HTTP \(response.status) \(ErrorBody.detail(response.errorBody))")
        }
        struct TokenAnswer: Decodable { var token: String?; var access_token: String? }
        guard let answer = try? JSONDecoder().decode(TokenAnswer.self, from: body),
              let token = [answer.token, answer.access_token].compactMap({ $0 }).first(where: { !$0.isEmpty }),
              token.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F })
        else { throw RegistryError.badTokenResponse(realm: realmURL.redactedString, detail: "no usable \"token\" in the JSON answer") }
        return token
    }
}
