import Foundation

/// Everything needed to reach registries, and one `RegistryClient` per registry so tokens,
/// credentials and connections are shared by every image that lives there.
public final class RegistryPool: @unchecked Sendable {
    public let hosts: RegistryHosts
    public let stack: TransportStack
    let credentials: CredentialStore
    private let lock = NSLock()
    private var clients: [String: RegistryClient] = [:]

    public init(hosts: RegistryHosts, stack: TransportStack, credentials: CredentialStore) {
        self.hosts = hosts
        self.stack = stack
        self.credentials = credentials
    }

    public func client(for registry: String) -> RegistryClient {
        lock.lock()
        defer { lock.unlock() }
        if let client = clients[registry] { return client }
        let client = RegistryClient(endpoint: hosts.endpoint(for: registry), stack: stack, credentials: credentials)
        clients[registry] = client
        return client
    }
}
