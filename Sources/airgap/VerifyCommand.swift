import AirgapBundle
import ArgumentParser
import Foundation
import Manifests
import OCILayout

struct Verify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Prove a bundle whole and untampered in one streaming pass; exit 1 naming the first bad entry.",
        discussion: HelpText.discussion("", examples: [
            ("Check every blob, the checksum file and the lock inside", "airgap verify bundle.tar"),
            ("Against your own copy of the lock, and the signer's public key", "airgap verify bundle.tar --lock bundle.lock --key signer.pub"),
            ("A bundle split into parts (bundle.tar.001, .002, …)", "airgap verify bundle.tar"),
        ]))

    @Argument(help: "The bundle tarball.")
    var bundle: String

    @Option(help: ArgumentHelp("Also check that the bundle holds exactly what this lockfile pins.", valueName: "PATH"))
    var lock: String?

    @Option(help: ArgumentHelp("Require airgap/bundle.lock.sig to verify with this PEM public key (what pack --sign-key signed with).", valueName: "PUB.pem"))
    var key: String?

    @OptionGroup var outputOptions: OutputOptions

    func run() async throws {
        let progress = outputOptions.reporter(for: "verify")
        defer { progress.stop() }
        let publicKey = try key.map(VerificationKey.init(path:))
        var external: (lock: Lockfile, path: String)?
        if let lock {
            guard let (parsed, _) = try LockfileStore.load(lock) else { throw LayoutDefect(entry: lock, problem: "no such lockfile") }
            external = (parsed, lock)
        }
        let verified = try await BundleVerifier(progress: progress).verify(bundle, lock: external, key: publicKey)
        progress.complete()
        if outputOptions.json { return try outputOptions.printJSON(verified) }
        let counts = Dictionary(grouping: verified.entries, by: \.kind).mapValues(\.count)
        let held = [("image", BundleEntry.Kind.image), ("JAR", .jar), ("chart", .chart), ("signature artifact", .signature)].compactMap { label, kind in
            counts[kind].map { "\($0) \(label)\($0 == 1 ? "" : "s")" }
        }.joined(separator: ", ")
        // Which lock the entries were checked against: the one inside the bundle travels with it
        // (and could be altered with it), so say so, and whether a lock of the operator's own was used.
        let locks = verified.lockChecked.map { $0 == LayoutPath.lockFileName ? "\($0) (inside the bundle)" : $0 }
        let lockLine = locks.isEmpty ? "no lock (not packed by airgap)"
            : "matches " + locks.joined(separator: " and ") + (lock == nil && key == nil ? "; pass --lock with your own copy, or --key with the signer's public key, to guard against tampering" : "")
        outputOptions.say("\(bundle): OK, \(held), \(verified.blobs) blobs, \(ByteCount.format(verified.bytes)) verified; checksum file: \(verified.checksumFile); lock: \(lockLine); bundle signature: \(verified.bundleSignature); SBOM: \(verified.sbom)")
    }
}

struct Inspect: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List what a bundle holds (references, platforms, sizes, digests), or one artifact in detail.",
        discussion: HelpText.discussion("", examples: [
            ("Everything the bundle holds", "airgap inspect bundle.tar"),
            ("One image's layers per platform", "airgap inspect bundle.tar docker.io/library/flink:1.17.1"),
            ("As JSON, for a script", "airgap inspect bundle.tar --json"),
        ]))

    @Argument(help: "The bundle tarball.")
    var bundle: String

    @Argument(help: ArgumentHelp("Show this one in detail: layers and sizes per platform; for a JAR its file name and SHA-256.", valueName: "REF"))
    var reference: String?

    @OptionGroup var outputOptions: OutputOptions

    func run() async throws {
        let progress = outputOptions.reporter(for: "inspect")
        defer { progress.stop() }
        let (reader, checked) = try await BundleVerifier(progress: progress).open(bundle)
        progress.complete()
        if let reference {
            let entry = try EntryLookup.find(reference, in: reader.items, lock: reader.lock, bundle: bundle)
            let detail = try ArtifactDetail.describe(entry, in: reader)
            if outputOptions.json { return try outputOptions.printJSON(detail) }
            return detail.text.split(separator: "\n").map(String.init).forEach(outputOptions.say)
        }
        let verified = VerifiedBundle(reader, lockChecked: checked)
        if outputOptions.json { return try outputOptions.printJSON(verified) }
        // Escaped before the widths are measured: a name from the bundle may hold escapes.
        let rows = verified.entries.map { entry in
            [entry.artifact.map { "\(entry.kind.rawValue):\($0)" } ?? entry.kind.rawValue,
             TerminalText.escape(entry.reference), entry.kind == .image ? entry.platforms.joined(separator: ",") : "-",
             ByteCount.format(entry.bytes), entry.digest]
        }
        let header = ["KIND", "REFERENCE", "PLATFORMS", "SIZE", "DIGEST"]
        let widths = (0..<header.count).map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
        for row in [header] + rows {
            outputOptions.say(zip(row, widths).map { $0.0.padding(toLength: $0.1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
                .trimmingCharacters(in: .whitespaces))
        }
        // Bundles packed before airgap signed and described them print as they always did.
        if verified.bundleSignature != "absent" || verified.sbom != "absent" {
            outputOptions.say("bundle signature: \(verified.bundleSignature); SBOM: \(verified.sbom)")
        }
    }
}
