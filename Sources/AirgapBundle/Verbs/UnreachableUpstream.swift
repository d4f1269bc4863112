import Foundation

/// A server that could not be reached (refused, no DNS name, TLS, timeout) while resolving one
/// entry of the spec: the message names the entry and the mirror or repository that led to the
/// host, since an operator fixes the spec or the mirror, not the URL libcurl tried.
public struct UnreachableUpstream: Error, CustomStringConvertible {
    /// `images: docker.io/library/flink:1.17.1`, `jars: com.ververica:…:2.4.2`, `charts: …`.
    public var entry: String
    /// `the mirror for docker.io (http://…; mirrors: in the spec or --mirror)`, or nil.
    public var via: String?
    public var underlying: TransportError

    public init(entry: String, via: String?, underlying: TransportError) {
        self.entry = entry
        self.via = via
        self.underlying = underlying
    }

    public var description: String {
        "\(entry)\(via.map { ", through \($0)" } ?? ""): \(underlying)"
    }

    /// `error` with the entry named when it says a server was out of reach; other errors as they are.
    public static func wrap(_ error: Error, entry: String, via: String?) -> Error {
        guard let transport = error as? TransportError, transport.isUnreachable else { return error }
        return UnreachableUpstream(entry: entry, via: via, underlying: transport)
    }
}
