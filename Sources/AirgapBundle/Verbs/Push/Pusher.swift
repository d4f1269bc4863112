import Foundation
import Manifests
import OCILayout

/// `airgap push`: the bundle into the internal registry with digests unchanged, the JARs into the
/// chart. Named steps, one file each: plan (`PushPlan`), upload (`BlobUploader`) and manifests
/// (`ManifestStep`) run concurrently, children first (`PushSchedule`), chart
/// (`ChartDirectoryWriter`, `LibsImageStep`), then the OpenShift mirror sets. Every request goes
/// through one `WorkerPool` of `--jobs` threads. Reads the tarball in place, opened once
/// (`BundleReader`).
///
/// Nothing is written anywhere (no repository, blob, file) before the bundle and its locks agreed
/// field by field and every byte hashed to its name; a push that finds everything already there
/// writes nothing, and so reads only the bundle's documents.
public struct Pusher: Sendable {
    public var client: RegistryClient
    public var progress: TransferProgress
    public var log: @Sendable (String) -> Void

    public init(client: RegistryClient, progress: TransferProgress, log: @escaping @Sendable (String) -> Void = { _ in }) {
        self.client = client
        self.progress = progress
        self.log = log
    }

    public func push(_ bundlePath: String, lock external: (lock: Lockfile, path: String)?, options: PushOptions) async throws -> PushSummary {
        // The graph, every document and every lock field, checked before anything else. Large
        // blobs are hashed below, before the first write.
        let (bundle, _) = try await BundleVerifier(progress: progress)
            .open(bundlePath, lock: external, thorough: false, key: options.key)
        let naming = options.naming
        var summary = PushSummary(registry: naming.registry, dryRun: options.dryRun, verification: "graph", entries: [], plan: PushPlanReport(registry: naming.registry))

        // Names first, from the bundle alone: no request leaves before they are known to fit.
        try naming.checkSyntax()
        let chartOut = try options.chartOut.map { try ChartOutput(bundle: bundle, parent: $0) }
        let chart = try (options.chartDirectory ?? chartOut?.destination).map {
            try ChartDirectoryWriter(directory: $0, bundle: bundle, unpacking: chartOut != nil)
        }
        if let limit = options.maxPathComponents {
            var sources = try bundle.items.map { try Reference(parsing: $0.reference).repository }
            if chart.map({ !$0.jars.isEmpty }) == true { sources.append(RepositoryNaming.libsImageName) }
            try naming.check(maxPathComponents: limit, sourceRepositories: sources)
        }

        // Plan, and what the registry lacks (HEAD only).
        // One bound for every request the push sends: `--jobs` threads.
        let workers = WorkerPool(width: options.jobs)
        var plan = try PushPlan(bundle, naming: naming)
        try await ReferrersStep(client: client, workers: workers).adjust(&plan)
        summary.entries = plan.entries
        let (missingBlobs, missingManifests) = try await plan.missing(in: client, workers: workers, summary: &summary, progress: progress)
        // Built before the first write (a bundle it cannot be built from stops the push with
        // nothing sent), but not for a dry run, which writes nothing, not even a temporary file.
        let libs = options.dryRun ? nil : try chart.flatMap { try LibsImageStep.prepare($0, bundle: bundle, entries: plan.entries, naming: naming) }
        summary.plan = PushPlan.report(blobs: missingBlobs, manifests: missingManifests, registry: naming.registry)
        if let chartOut { summary.plan.files.append(chartOut.plan) }
        if let chart { summary.plan.files += chart.plan(prune: options.prune) }
        summary.chartDirectory = chart?.directory
        let mirrorSetName = OpenShiftMirrors.setName(bundlePath: bundlePath, index: bundle.snapshot.indexFile)

        let writes = !missingBlobs.isEmpty || !missingManifests.isEmpty || chart != nil || options.openshiftManifests != nil
        if options.dryRun || !writes {
            summary.strayJars = chart?.strays ?? []
            return summary
        }

        // Something will be written: every byte of the bundle must verify first, in place, on all
        // cores. (The registry checks each digest again as the blob arrives, so the tarball's
        // checksum file adds nothing here.)
        try await bundle.verifyRemainingBlobs(progress: progress)
        summary.verification = "full"

        let uploader = BlobUploader(client: client, chunkSize: options.chunkSize,
                                    sessions: options.uploadState.map(UploadSessionStore.init), progress: progress)
        let schedule = PushSchedule(uploader: uploader, workers: workers)
        try await schedule.run(blobs: missingBlobs, manifests: missingManifests, source: { try bundle.source(for: $0) }, summary: &summary)
        uploader.forgetSessions(for: plan.blobs.flatMap { task in task.repositories.map { (digest: task.descriptor.digest, repository: $0) } })

        if let chart {
            progress.begin("chart", bytes: 0, subject: chart.directory)
            let pushed = try await libs?.push(with: schedule, summary: &summary)
            let entries = summary.entries
            let result = try chartOut.map { output in
                try output.write { staged in
                    try chart.writing(into: staged).write(prune: false, naming: naming, entries: entries, libsImage: pushed)
                }
            } ?? chart.write(prune: options.prune, naming: naming, entries: entries, libsImage: pushed)
            summary.jarsWritten = result.written
            summary.strayJars = result.strays
            summary.jarsPruned = result.pruned
            summary.filesWritten += result.files
        }
        if let directory = options.openshiftManifests {
            summary.mirrorSets = try OpenShiftMirrors.write(entries: summary.entries, naming: naming, name: mirrorSetName, to: directory)
            summary.filesWritten += summary.mirrorSets
        }
        return summary
    }
}

/// An image as values-airgap.yaml names it: the path under `global.imageRegistry`, tag and digest.
struct PushedImage {
    var path: String
    var tag: String
    var digest: Digest
}
