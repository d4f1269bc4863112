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
        try remove(checksum.destination)
        try tarball.publish()
        try removeParts(of: tarball.destination)
        try checksum.publish()
    }

    /// The digest the checksum file records for the tarball itself, or nil when there is no
    /// such file. A file of one line is taken whatever name it gives (the bundle may have been
    /// renamed, both files together).
    public static func read(for bundle: String) throws -> Digest? {
        guard let lines = try lines(for: bundle) else { return nil }
        let name = URL(fileURLWithPath: bundle).lastPathComponent
        if let own = lines.first(where: { $0.name == name }) { return own.digest }
        if lines.count == 1 { return lines[0].digest }
        throw LayoutDefect(entry: path(for: bundle), problem: "has no line for \(name); delete it or pack again")
    }

    /// Every `<hex>  <name>` line of the checksum file, in order, or nil when there is none.
    public static func lines(for bundle: String) throws -> [(name: String, digest: Digest)]? {
        let path = path(for: bundle)
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        var lines: [(name: String, digest: Digest)] = []
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") where !line.isEmpty {
            let fields = line.split(separator: " ", maxSplits: 1)
            guard fields.count == 2, let digest = try? Digest(algorithm: .sha256, encoded: String(fields[0])) else {
                throw LayoutDefect(entry: path, problem: "not a sha256sum line: \(line.prefix(80)); delete it or pack again")
            }
            // sha256sum writes "  name" (text) or " *name" (binary).
            var name = Substring(fields[1])
            if name.hasPrefix(" ") || name.hasPrefix("*") { name = name.dropFirst() }
            lines.append((String(name), digest))
        }
        guard !lines.isEmpty else { throw LayoutDefect(entry: path, problem: "is empty; delete it or pack again") }
        return lines
    }

    /// The checksum file of a split bundle: one line per part, then one for the whole tar, all
    /// in `sha256sum -c` format. Where only the parts are present, `sha256sum -c --ignore-missing`
    /// checks them and skips the whole-tar line; after `cat bundle.tar.0* > bundle.tar`, the same
    /// file checks the reassembled tar too.
    public static func prepare(parts: [PreparedPart], whole digest: Digest, for bundle: String) throws -> PendingFile {
        var text = ""
        for part in parts {
            text += "\(part.digest.encoded)  \(URL(fileURLWithPath: part.file.destination).lastPathComponent)\n"
        }
        text += "\(digest.encoded)  \(URL(fileURLWithPath: bundle).lastPathComponent)\n"
        return try AtomicFile.prepare(Data(text.utf8), to: path(for: bundle))
    }

    /// Puts a split bundle in place, as a set: the old checksum file goes first (as in
    /// `publish(_:with:)`), then an unsplit tarball of the same name and every part of an older
    /// set (a longer one would leave stale parts behind), then the new parts in order, then the
    /// checksum file. Killed in between, the directory holds parts with no checksum file, which
    /// verify refuses or cannot vouch for, and the next pack puts right.
    public static func publish(parts: [PreparedPart], with checksum: PendingFile, bundle: String) throws {
        try remove(checksum.destination)
        try remove(bundle)
        for (_, stale) in PartNames.existing(for: bundle) { try remove(stale) }
        for part in parts { try part.file.publish() }
        try checksum.publish()
    }

    /// After an unsplit tarball was put in place: the parts of an earlier split pack of the same
    /// name go, so that nothing stale is left to be carried.
    public static func removeParts(of bundle: String) throws {
        for (_, stale) in PartNames.existing(for: bundle) { try remove(stale) }
    }

    private static func remove(_ path: String) throws {
        if unlink(path) != 0, errno != ENOENT {
            throw LayoutError.io(path: path, operation: "unlink", errno: errno)
        }
    }
}
