import Foundation
import Manifests

/// Where `airgap push` puts things, and how.
public struct PushOptions: Sendable {
    public var naming: RepositoryNaming
    public var jobs: Int
    /// Blobs above this size are sent in PATCH chunks of it.
    public var chunkSize: Int64 = RegistryClient.defaultChunkSize
    /// Print the plan and write nothing.
    public var dryRun: Bool
    /// Chart directory whose `files/libs/` gets the locked JARs and which gets `values-airgap.yaml`.
    public var chartDirectory: String?
    /// Remove JARs from `files/libs/` that the lock does not name.
    public var prune: Bool
    /// Where to write `ImageDigestMirrorSet` / `ImageTagMirrorSet` YAML.
    public var openshiftManifests: String?
    /// Where an interrupted chunked upload records its session, so the next run resumes it
    /// (see `UploadSessionStore`); nil keeps no record.
    public var uploadState: String?

    public init(registry: String, prefix: String = "", flatten: Bool = false, jobs: Int = 3, dryRun: Bool = false,
                chartDirectory: String? = nil, prune: Bool = false, openshiftManifests: String? = nil) {
        self.naming = RepositoryNaming(registry: registry, prefix: prefix, flatten: flatten)
        self.jobs = jobs
        self.dryRun = dryRun
        self.chartDirectory = chartDirectory
        self.prune = prune
        self.openshiftManifests = openshiftManifests
    }

    public var registry: String { naming.registry }
    public var prefix: String { naming.prefix }
    public var flatten: Bool { naming.flatten }
}

/// What `airgap push` did (or, with `--dry-run`, would do).
public struct PushSummary: Codable, Sendable {
    public struct PushedEntry: Codable, Sendable {
        public var kind: BundleEntry.Kind
        public var source: String
        /// `HOST/repository:tag@digest` in the internal registry.
        public var target: String
        public var digest: String
    }

    public var registry: String
    public var dryRun: Bool
    /// `full` when every byte was verified before the first write; `graph` when nothing needed
    /// writing, so only the documents were checked.
    public var verification: String
    public var entries: [PushedEntry]
    public var blobsSent = 0
    public var blobsMounted = 0
    public var blobsSkipped = 0
    public var bytesSent: Int64 = 0
    /// Blobs whose upload continued a session an earlier, interrupted run left in the registry.
    public var blobsResumed = 0
    public var manifestsPut = 0
    public var manifestsSkipped = 0
    /// JARs written to (or, dry, that would go to) `files/libs/`.
    public var jarsWritten: [String] = []
    /// JARs in `files/libs/` that the lock does not name.
    public var strayJars: [String] = []
    public var jarsPruned: [String] = []
    /// Files written beside the chart and for OpenShift.
    public var filesWritten: [String] = []
    /// One line per action, in order: the plan of a dry run.
    public var plan: [String] = []
}

public enum PushError: Error, CustomStringConvertible {
    case chartDirectory(String, String)
    case unsafeJarName(reference: String, name: String)

    public var description: String {
        switch self {
        case .chartDirectory(let path, let problem):
            return "\(path): \(problem)"
        case .unsafeJarName(let reference, let name):
            return "\(reference): the JAR's title \"\(name)\" is not a plain file name; the bundle is not one airgap packed"
        }
    }
}
