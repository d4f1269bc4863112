import Foundation
import Manifests
import OCILayout

/// One `--json` document: the body's own fields plus `schemaVersion`, so a pipeline can tell
/// which shape it reads. The shapes are kept in `schemas/*.schema.json`; a field added is a
/// minor change (same version), a field renamed, removed or retyped raises the version.
public struct JSONDocument<Body: Encodable>: Encodable {
    public static var schemaVersion: Int { 1 }

    public var body: Body

    public init(_ body: Body) { self.body = body }

    private enum Key: String, CodingKey { case schemaVersion }

    public func encode(to encoder: Encoder) throws {
        // The body writes its fields into the same object, then the version joins them.
        try body.encode(to: encoder)
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(Self.schemaVersion, forKey: .schemaVersion)
    }

    /// The document as printed: sorted keys, pretty, one trailing newline.
    public func data() throws -> Data {
        try JSONEncoder.canonical(pretty: true).encode(self) + Data("\n".utf8)
    }
}

/// What `--json` prints instead of the result when a command fails: the same one line the
/// terminal shows, what kind of failure it was, and the exit status the process ends with.
public struct ErrorReport: Encodable, Sendable {
    public struct Detail: Encodable, Sendable {
        public var message: String
        /// `usage`, `bundle`, `registry`, `spec`, `lock`, `artifact`, `signature`, `push`,
        /// `audit` or `failure` (schemas/error.schema.json).
        public var kind: String
        public var exitCode: Int32
    }

    public var error: Detail

    public init(message: String, kind: String, exitCode: Int32) {
        error = Detail(message: message, kind: kind, exitCode: exitCode)
    }

    /// The kind of a library error, from the module's error types.
    public static func kind(of error: Error) -> String {
        switch error {
        case is LayoutDefect, is LayoutError, is ManifestError: return "bundle"
        case is RegistryError, is TransportError, is CredentialError: return "registry"
        case is SpecError, is YAMLInputError, is ResolveError: return "spec"
        case is LockError: return "lock"
        case is MavenError, is ChartError, is UnpackError, is ExtractError, is EntryLookup.NotFound: return "artifact"
        case is SignatureError, is KeyError: return "signature"
        case is PushError, is NamingError: return "push"
        default: return "failure"
        }
    }
}
