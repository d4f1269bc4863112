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
    /// `--chart-out DIR`: the bundle's own chart unpacked into `DIR/<name>/` (its files/libs and
    /// values-airgap.yaml written there), for an enclave with no source checkout.
    public var chartOut: String?
    /// Refuse a plan in which a repository has more path components than this (OpenShift: 2).
    public var maxPathComponents: Int?
    /// Where an interrupted chunked upload records its session, so the next run resumes it
    /// (see `UploadSessionStore`); nil keeps no record.
    public var uploadState: String?
    /// `--key`: the bundle must carry a signature over its lock that this key verifies, or
    /// nothing is written.
    public var key: VerificationKey?

    public init(registry: String, prefix: String = "", flatten: Bool = false, jobs: Int = WorkerPool.defaultJobs, dryRun: Bool = false,
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
    public var registry: String
    public var dryRun: Bool
    /// `full` when every byte was verified before the first write; `graph` when nothing needed
    /// writing, so only the documents were checked.
    public var verification: String
    /// Each entry with `target`, where it went.
    public var entries: [EntryReport]
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
    /// The chart folder push filled (`--chart-dir`, or `DIR/<name>` of `--chart-out`).
    public var chartDirectory: String?
    /// The OpenShift mirror sets written.
    public var mirrorSets: [String] = []
    /// What the registry lacked and what would be written when the push began: all a dry run
    /// does.
    public var plan: PushPlanReport
}

public enum PushError: Error, CustomStringConvertible {
    case chartDirectory(String, String)
    case chartOut(bundle: String, charts: [String])
    case unsafeJarName(reference: String, name: String)
    /// A blob the registry did not take; nothing that names it was written.
    case blob(digest: Digest, size: Int64, target: String, reason: String)

    public var description: String {
        switch self {
        case .chartDirectory(let path, let problem):
            return "\(path): \(problem)"
        case .chartOut(let bundle, let charts):
            return "\(bundle): --chart-out needs exactly one chart in the bundle, it holds \(charts.isEmpty ? "none" : charts.joined(separator: ", ")); "
                + "use airgap extract for each chart and --chart-dir"
        case .unsafeJarName(let reference, let name):
            return "\(reference): the JAR's title \"\(name)\" is not a plain file name; the bundle is not one airgap packed"
        case .blob(let digest, let size, let target, let reason):
            return "blob \(digest) (\(ByteCount.format(size))) into \(target): \(reason); no manifest that names it was written, "
                + "run push again to finish (what arrived is not sent again)"
        }
    }
}
