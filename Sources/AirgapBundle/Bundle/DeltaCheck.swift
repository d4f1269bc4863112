import Foundation
import Manifests
import OCILayout

/// `--base OLD.tar`: the full closure of a delta, proved from both tarballs. The base must be the
/// bundle the delta was packed against (its lock's digest is the one the delta records) and hold
/// every blob the delta leaves out, at its size; the base was verified whole (each blob hashed to
/// its name) when it was opened, so those bytes are proved too.
public enum DeltaCheck {
    public static func attach(_ bases: [BundleReader], to delta: BundleReader) throws {
        guard let section = delta.delta else {
            throw LayoutDefect(entry: delta.path, problem: "is a full bundle, not a delta; --base is for bundles packed by `airgap pack --since`")
        }
        let lockDigests = bases.flatMap(lockDigests)
        guard lockDigests.contains(section.base) else {
            let named = bases.map(\.path).joined(separator: ", ")
            throw LayoutDefect(entry: named, problem: "is not the base of \(delta.path): the delta was packed by `airgap pack --since` a lock with digest \(section.base), the base's lock is \(lockDigests.first?.description ?? "absent"); give the bundle packed from that lock")
        }
        for blob in section.external {
            guard bases.contains(where: { $0.snapshot.blobSizes[blob.digest] == blob.size }) else {
                throw LayoutDefect(entry: LayoutPath.blobName(blob.digest),
                                   problem: "is left to the base by \(delta.path) (\(blob.size) bytes), but \(bases.map(\.path).joined(separator: ", ")) does not hold it; the delta and this base do not belong together")
            }
        }
        delta.bases = bases
    }

    /// The digests a delta may record for this bundle as its base: its lock's bytes and, for a
    /// delta base, the lock it was packed from (the same lock without its delta section).
    static func lockDigests(_ base: BundleReader) -> [Digest] {
        guard let data = base.lockData else { return [] }
        var digests = [Digest.sha256(of: data)]
        if var lock = base.lock, lock.delta != nil {
            lock.delta = nil
            if let plain = try? lock.encoded() { digests.append(Digest.sha256(of: plain)) }
        }
        return digests
    }
}
