import Foundation

/// Talks the distribution protocol to one registry endpoint: discovers its auth scheme with
/// `GET /v2/`, answers Basic and Bearer challenges (tokens cached per scope), follows
/// redirects itself so `Authorization` never leaks to another host, and retries what is worth
/// retrying. Safe to share between threads.
public final class RegistryClient: @unchecked Sendable {
    public let endpoint: RegistryEndpoint
    let transport: HTTPTransport
    let credentials: CredentialStore
    public let retry: RetryPolicy
    /// Told about each retry, for the operator's log.
    let onRetry: @Sendable (String) -> Void

    private let lock = NSLock()
    private var pinged = false
    private var challenge: AuthChallenge?
    private var tokens: [String: String] = [:]

    public init(
        endpoint: RegistryEndpoint, transport: HTTPTransport, credentials: CredentialStore,
        retry: RetryPolicy = RetryPolicy(), onRetry: @escaping @Sendable (String) -> Void = { _ in }
    ) {
        self.endpoint = endpoint
        self.transport = transport
        self.credentials = credentials
        self.retry = retry
        self.onRetry = onRetry
    }

    /// Sends `request` with the authorization `repository`/`actions` need, following redirects.
    /// A 401 is answered once (new token, or credentials); status codes are otherwise returned,
    /// not thrown, except that 429 and 5xx throw `unexpectedStatus` so a retry loop can act.
    public func send(
        _ request: HTTPRequest, repository: String, actions: String = "pull", alsoPulling source: String? = nil,
        onHead: HeadHandler = { _ in }, into sink: BodySink = { _ in }
    ) throws -> HTTPResponse {
        try ping()
        // A cross-repository mount needs pull on the source too: both scopes in one token.
        let scope = (["repository:\(repository):\(actions)"] + (source.map { ["repository:\($0):pull"] } ?? [])).joined(separator: " ")
        var authorized = request
        authorized.setHeader("Authorization", try authorization(scope: scope, repository: repository, refresh: false))
        var response = try sendFollowingRedirects(authorized, onHead: onHead, into: sink)
        if response.status == 401 {
            let fresh = try authorization(scope: scope, repository: repository, refresh: true, challengeHeader: response.header("www-authenticate"))
            authorized.setHeader("Authorization", fresh)
            response = try sendFollowingRedirects(authorized, onHead: onHead, into: sink)
            if response.status == 401 {
                let credential = try credentials.credential(registry: endpoint.credentialKey, repository: repository)
                if let credential { throw RegistryError.credentialsRejected(registry: endpoint.credentialKey, source: credential.source) }
                throw RegistryError.authenticationRequired(registry: endpoint.credentialKey, repository: repository)
            }
        }
        if response.status == 403 {
            throw RegistryError.accessDenied(registry: endpoint.name, repository: repository, detail: RegistryError.detail(fromBody: response.errorBody))
        }
        try response.throwIfRetryable(request.url)
        return response
    }

    /// `GET /v2/` once, to learn whether and how the registry wants authentication.
    func ping() throws {
        lock.lock()
        let done = pinged
        lock.unlock()
        if done { return }
        // No retry loop of its own: every caller's request runs inside one, and nested loops
        // would multiply the attempts.
        let url = endpoint.url("/v2/")
        let response = try transport.send(HTTPRequest(url: url)) { _ in }
        try response.throwIfRetryable(url)
        guard response.isSuccess || response.status == 401 else {
            throw RegistryError.notARegistry(url: url, status: response.status)
        }
        lock.lock()
        challenge = response.status == 401 ? response.headerValues("www-authenticate").lazy.compactMap(AuthChallenge.init(header:)).first : nil
        pinged = true
        lock.unlock()
    }

    func retryNotice(_ url: URL) -> (Error, Double) -> Void {
        { [onRetry] error, delay in onRetry("retrying \(url.redactedString) in \(String(format: "%.1f", delay))s: \(error)") }
    }

    /// The `Authorization` value for `scope`, or nil when the registry wants none.
    private func authorization(scope: String, repository: String, refresh: Bool, challengeHeader: String? = nil) throws -> String? {
        lock.lock()
        if let header = challengeHeader, let fresh = AuthChallenge(header: header) { challenge = fresh }
        let current = challenge
        let cached = refresh ? nil : tokens[scope]
        lock.unlock()
        guard let current else { return nil }
        if let cached { return "Bearer \(cached)" }

        let credential = try credentials.credential(registry: endpoint.credentialKey, repository: repository)
        switch current.scheme {
        case .basic:
            guard let basic = credential?.basicAuthorization else {
                throw RegistryError.authenticationRequired(registry: endpoint.credentialKey, repository: repository)
            }
            return basic
        case .bearer:
            // The challenge that came with a 401 may name a wider scope (e.g. for a mount).
            let scopes = Set(scope.split(separator: " ").map(String.init) + (current.parameters["scope"].map { [$0] } ?? []))
            let token = try fetchToken(challenge: current, scopes: scopes.sorted(), credential: credential)
            lock.lock()
            tokens[scope] = token
            lock.unlock()
            return "Bearer \(token)"
        }
    }

    /// The token flow of the distribution spec: GET the realm with service and scope, with Basic
    /// credentials when there are some (anonymous otherwise); an identity token is exchanged with
    /// the OAuth2 `refresh_token` grant instead.
    private func fetchToken(challenge: AuthChallenge, scopes: [String], credential: RegistryCredential?) throws -> String {
        guard let realm = challenge.realm, var components = URLComponents(string: realm) else {
            throw RegistryError.badTokenResponse(realm: challenge.realm ?? endpoint.name, detail: "the challenge has no realm")
        }
        var request: HTTPRequest
        if case .identityToken(let refreshToken)? = credential?.secret {
            var form = URLComponents()
            form.queryItems = [URLQueryItem(name: "grant_type", value: "refresh_token"),
                               URLQueryItem(name: "refresh_token", value: refreshToken),
                               URLQueryItem(name: "client_id", value: "airgap")]
                + (challenge.service.map { [URLQueryItem(name: "service", value: $0)] } ?? [])
                + [URLQueryItem(name: "scope", value: scopes.joined(separator: " "))]
            request = HTTPRequest(method: "POST", url: components.url!,
                                  headers: [("Content-Type", "application/x-www-form-urlencoded")],
                                  body: .data(Data((form.percentEncodedQuery ?? "").utf8)))
        } else {
            components.queryItems = (components.queryItems ?? [])
                + (challenge.service.map { [URLQueryItem(name: "service", value: $0)] } ?? [])
                + scopes.map { URLQueryItem(name: "scope", value: $0) }
            request = HTTPRequest(url: components.url!)
            request.setHeader("Authorization", credential?.basicAuthorization)
        }
        let url = request.url
        let collector = BodyCollector(url: url, limit: 1 << 20)
        let response = try transport.send(request, into: collector.append)
        try response.throwIfRetryable(url)
        let body = collector.data
        if response.status == 401 || response.status == 403 {
            if let credential { throw RegistryError.credentialsRejected(registry: endpoint.credentialKey, source: credential.source) }
            throw RegistryError.authenticationRequired(registry: endpoint.credentialKey, repository: scopes.first ?? "")
        }
        guard response.isSuccess else {
            throw RegistryError.badTokenResponse(realm: realm, detail: "HTTP \(response.status) \(RegistryError.detail(fromBody: response.errorBody))")
        }
        struct TokenAnswer: Decodable { var token: String?; var access_token: String? }
        guard let answer = try? JSONDecoder().decode(TokenAnswer.self, from: body),
              let token = [answer.token, answer.access_token].compactMap({ $0 }).first(where: { !$0.isEmpty })
        else { throw RegistryError.badTokenResponse(realm: realm, detail: "no \"token\" in the JSON answer") }
        return token
    }

    private func sendFollowingRedirects(_ request: HTTPRequest, onHead: HeadHandler, into sink: BodySink) throws -> HTTPResponse {
        try RedirectFollower(transport: transport).send(request, onHead: onHead, into: sink)
    }
}
