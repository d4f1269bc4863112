import AirgapBundle
import ArgumentParser
import Foundation
import Manifests
import OCILayout

struct Pack: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Resolve the spec's images and write them into one OCI-layout tarball.",
        discussion: "The tarball is written under a temporary name and renamed when complete; <output>.sha256 is written beside it.")

    @Option(help: "The bundle spec.")
    var spec = "airgap.yaml"

    @Option(name: .shortAndLong, help: "The tarball to write.")
    var output = "bundle.tar"

    @Option(help: ArgumentHelp("Content-addressed download cache (default: $XDG_CACHE_HOME/airgap or ~/.cache/airgap).", valueName: "DIR"))
    var cache: String?

    @Option(help: "Blobs downloaded at once.")
    var jobs = 4

    @OptionGroup var registry: RegistryOptions
    @OptionGroup var outputOptions: OutputOptions

    func validate() throws {
        guard (1...64).contains(jobs) else { throw ValidationError("--jobs must be between 1 and 64") }
    }

    func run() async throws {
        let bundleSpec = try BundleSpec.load(path: spec)
        let store = try BlobStore(root: cache ?? Self.defaultCache())
        let progress = TransferProgress(label: "pull ", enabled: outputOptions.showProgress)
        let packer = Packer(pool: try registry.pool(specMirrors: bundleSpec.mirrors, log: logToStderr), cache: store, jobs: jobs, progress: progress)
        let summary = try await packer.pack(bundleSpec, to: output)
        if outputOptions.json { return try outputOptions.printJSON(summary) }
        for image in summary.images {
            print("\(image.reference)  \(image.digest)  \(image.platforms.joined(separator: ","))")
        }
        print("wrote \(summary.output) (\(ByteCount.format(summary.bytes)), sha256:\(summary.sha256.dropFirst(7).prefix(12))…): \(summary.images.count) images, \(summary.blobs) blobs, \(summary.blobsDownloaded) downloaded (\(ByteCount.format(summary.bytesDownloaded))), \(summary.blobsFromCache) from cache")
    }

    static func defaultCache() -> String {
        let environment = ProcessInfo.processInfo.environment
        if let xdg = environment["XDG_CACHE_HOME"], !xdg.isEmpty { return "\(xdg)/airgap" }
        return "\(environment["HOME"] ?? NSHomeDirectory())/.cache/airgap"
    }
}
