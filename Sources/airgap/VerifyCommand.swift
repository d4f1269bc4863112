import AirgapBundle
import ArgumentParser
import Foundation

struct Verify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Prove a bundle whole and untampered in one streaming pass; exit 1 naming the first bad entry.")

    @Argument(help: "The bundle tarball.")
    var bundle: String

    @OptionGroup var outputOptions: OutputOptions

    func run() async throws {
        let progress = TransferProgress(label: "verify", enabled: outputOptions.showProgress)
        let verified = try await BundleVerifier(progress: progress).verify(bundle)
        if outputOptions.json { return try outputOptions.printJSON(verified) }
        print("\(bundle): OK, \(verified.images.count) images, \(verified.blobs) blobs, \(ByteCount.format(verified.bytes)) verified; checksum file: \(verified.checksumFile)")
    }
}

struct Inspect: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List what a bundle holds: references, platforms, sizes, digests.")

    @Argument(help: "The bundle tarball.")
    var bundle: String

    @OptionGroup var outputOptions: OutputOptions

    func run() async throws {
        let progress = TransferProgress(label: "read ", enabled: outputOptions.showProgress)
        let verified = try await BundleVerifier(progress: progress).verify(bundle)
        if outputOptions.json { return try outputOptions.printJSON(verified.images) }
        let rows = verified.images.map { [$0.reference, $0.platforms.joined(separator: ","), ByteCount.format($0.bytes), $0.digest] }
        let header = ["REFERENCE", "PLATFORMS", "SIZE", "DIGEST"]
        let widths = (0..<header.count).map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
        for row in [header] + rows {
            print(zip(row, widths).map { $0.0.padding(toLength: $0.1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
                .trimmingCharacters(in: .whitespaces))
        }
    }
}
