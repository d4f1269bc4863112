import Foundation
import Manifests
import OCILayout

/// The `<bundle>.sha256` file beside a bundle, in `sha256sum -c` format, so the tarball can be
/// checked on any machine, with or without airgap, before it is even opened.
public enum BundleChecksum {
    public static func path(for bundle: String) -> String { bundle + ".sha256" }

    public static func write(_ digest: Digest, for bundle: String) throws {
        try prepare(digest, for: bundle).publish()
    }

    /// The checksum file written and synced under a temporary name, for `publish(_:with:)`.
    public static func prepare(_ digest: Digest, for bundle: String) throws -> PendingFile {
        let line = "\(digest.encoded)  \(URL(fileURLWithPath: bundle).lastPathComponent)\n"
        return try AtomicFile.prepare(Data(line.utf8), to: path(for: bundle))
    }

    /// Puts a new tarball and its checksum file in place so that a new tarball is never seen
    /// beside an old checksum (verify would call a good bundle tampered):
    ///   1. both are complete and synced under temporary names (before this is called);
    ///   2. the old `<bundle>.sha256` is removed: an old tarball alone still verifies, by the
    ///      lock it carries;
    ///   3. the tarball is renamed into place (new tarball, no checksum file);
    ///   4. the checksum file is renamed into place.
    /// Killed anywhere in between, the directory holds a matching pair, or a tarball with no
    /// checksum file, and the next pack puts the pair right.
    public static func publish(_ tarball: PendingFile, with checksum: PendingFile) throws {
        if unlink(checksum.destination) != 0, errno != ENOENT {
            throw LayoutError.io(path: checksum.destination, operation: "unlink", errno: errno)
        }
        try tarball.publish()
        try checksum.publish()
    }

    /// The digest the checksum file records, or nil when there is no such file.
    public static func read(for bundle: String) throws -> Digest? {
        let path = path(for: bundle)
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        let text = String(decoding: data, as: UTF8.self)
        guard let hex = text.split(whereSeparator: { $0 == " " || $0 == "\n" }).first,
              let digest = try? Digest(algorithm: .sha256, encoded: String(hex))
        else { throw LayoutDefect(entry: path, problem: "not a sha256sum line; delete it or pack again") }
        return digest
    }
}
