import Foundation

/// Everything needed to reach registries, and one `RegistryClient` per registry so tokens and
/// connections are shared by every image that lives there.
public final class RegistryPool: @unchecked Sendable {
    public let hosts: RegistryHosts
    let transport: HTTPTransport
    let credentials: CredentialStore
    let retry: RetryPolicy
    let onRetry: @Sendable (String) -> Void
    private let lock = NSLock()
    private var clients: [String: RegistryClient] = [:]

    public init(
        hosts: RegistryHosts, transport: HTTPTransport, credentials: CredentialStore,
        retry: RetryPolicy = RetryPolicy(), onRetry: @escaping @Sendable (String) -> Void = { _ in }
    ) {
        self.hosts = hosts
        self.transport = transport
        self.credentials = credentials
        self.retry = retry
        self.onRetry = onRetry
    }

    public func client(for registry: String) -> RegistryClient {
        lock.lock()
        defer { lock.unlock() }
        if let client = clients[registry] { return client }
        let client = RegistryClient(endpoint: hosts.endpoint(for: registry), transport: transport,
                                    credentials: credentials, retry: retry, onRetry: onRetry)
        clients[registry] = client
        return client
    }
}
