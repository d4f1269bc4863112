import Foundation
import Manifests

/// What push sends and writes, as data: the dry run's answer (`push --dry-run --json`), and
/// in every push summary what the registry lacked when the push began. Each line of the text
/// dry run is one element here.
public struct PushPlanReport: Codable, Sendable {
    public struct Blob: Codable, Sendable {
        public var digest: String
        public var mediaType: String
        public var bytes: Int64
        /// Where it goes (the first by upload or mount, the rest by mount from there).
        public var repositories: [String]
        /// A repository of the registry that holds it already: mounted from there, not sent.
        public var mountFrom: String?
    }

    public struct Manifest: Codable, Sendable {
        public var repository: String
        public var digest: String
        public var mediaType: String
        public var bytes: Int64
    }

    public struct Tag: Codable, Sendable {
        public var repository: String
        public var tag: String
        public var digest: String
    }

    public struct File: Codable, Sendable {
        public enum Action: String, Codable, Sendable {
            /// Written (a JAR into files/libs, values-airgap.yaml).
            case write
            /// The bundle's chart unpacked into this folder.
            case unpack
            /// A stray JAR `--prune` removes.
            case remove
            /// A stray JAR left in place (no `--prune`).
            case keep
        }
        public var action: Action
        public var path: String
        /// Known before writing for JARs and the unpacked chart archive; not for generated files.
        public var bytes: Int64?
        public var digest: String?
        /// The bundle entry the file comes from (the chart, a JAR).
        public var reference: String?
    }

    /// `HOST[:PORT]` the plan is for.
    public var registry: String
    public var blobs: [Blob] = []
    public var manifests: [Manifest] = []
    public var tags: [Tag] = []
    public var files: [File] = []
    /// The blob bytes to send (before mounts, which send none).
    public var bytes: Int64 { blobs.reduce(0) { $0 + $1.bytes } }

    private enum CodingKeys: String, CodingKey { case registry, blobs, manifests, tags, files, bytes }

    public init(registry: String) { self.registry = registry }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        registry = try container.decode(String.self, forKey: .registry)
        blobs = try container.decode([Blob].self, forKey: .blobs)
        manifests = try container.decode([Manifest].self, forKey: .manifests)
        tags = try container.decode([Tag].self, forKey: .tags)
        files = try container.decode([File].self, forKey: .files)
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(registry, forKey: .registry)
        try container.encode(blobs, forKey: .blobs)
        try container.encode(manifests, forKey: .manifests)
        try container.encode(tags, forKey: .tags)
        try container.encode(files, forKey: .files)
        try container.encode(bytes, forKey: .bytes)
    }

    public var isEmpty: Bool { blobs.isEmpty && manifests.isEmpty && tags.isEmpty && files.isEmpty }

    /// The text dry run: one line per action; blobs first, then manifests (children before the
    /// indexes that name them), tags, and files.
    public var lines: [String] {
        blobs.map { "blob \($0.digest) (\(ByteCount.format($0.bytes))) -> \($0.repositories.joined(separator: ", "))" + ($0.mountFrom.map { " (mounted from \($0))" } ?? "") }
            + manifests.map { "manifest \(registry)/\($0.repository)@\($0.digest)" }
            + tags.map { "tag \(registry)/\($0.repository):\($0.tag) -> \((try? Digest(parsing: $0.digest))?.short ?? $0.digest)" }
            + files.map { file in
                switch file.action {
                case .unpack: return "chart \(file.reference ?? "") -> \(file.path)/ (unpacked from the bundle)"
                case .write: return file.digest.map { "jar \(file.path) (\($0))" } ?? "values \(file.path)"
                case .remove: return "remove stray \(file.path)"
                case .keep: return "stray \(file.path) (not in the lock; --prune removes it)"
                }
            }
    }
}
