import Foundation
import Manifests
import OCILayout

public enum DeltaError: Error, CustomStringConvertible {
    case noBaseLock(path: String)
    case baseIsDelta(path: String)
    case baseUnresolved(path: String, reference: String)
    case baseManifestUnavailable(path: String, reference: String, digest: Digest, reason: String)

    public var description: String {
        switch self {
        case .noBaseLock(let path):
            return "--since \(path): no such lockfile; name the bundle.lock the base bundle was packed from"
        case .baseIsDelta(let path):
            return "--since \(path): this is a delta bundle's lock; name the bundle.lock the base was packed from (the one beside its spec)"
        case .baseUnresolved(let path, let reference):
            return "--since \(path): \(reference) is unresolved there, so no bundle was packed from it; name the lock of a bundle that was packed"
        case .baseManifestUnavailable(let path, let reference, let digest, let reason):
            return "--since \(path): the manifest \(digest) of \(reference) is neither in the cache nor fetchable (\(reason)); pack from the host (or cache) that packed the base, or restore its registry access"
        }
    }
}

/// The base of a delta (`pack --since OLD.lock`): every blob a bundle packed from OLD.lock holds
/// apart from documents, and the repository each was pushed with. The lock pins manifests, not
/// layers, so the layers are read from those manifests: from the cache when the base was packed
/// here, else fetched by digest (a manifest fetched by digest is checked against it, so it is
/// the very one the base carried). JARs and chart archives the lock pins directly.
public struct DeltaBase: Sendable {
    public var path: String
    /// SHA-256 of the lock's bytes, as the base bundle carries them.
    public var lockDigest: Digest
    public var blobs: [Digest: ExternalBlob]

    public static func load(_ path: String, cache: BlobStore, pool: RegistryPool) throws -> DeltaBase {
        guard let data = FileManager.default.contents(atPath: path) else { throw DeltaError.noBaseLock(path: path) }
        let lock = try Lockfile.decode(data, path: path)
        guard lock.delta == nil else { throw DeltaError.baseIsDelta(path: path) }
        var blobs: [Digest: ExternalBlob] = [:]
        func add(_ digest: Digest, _ size: Int64, _ repository: String) {
            if blobs[digest] == nil { blobs[digest] = ExternalBlob(digest: digest, size: size, repository: repository) }
        }

        func document(_ pin: Pin, of reference: Reference) throws -> ManifestDocument {
            if cache.contains(pin.digest, size: pin.size), let data = try? cache.read(pin.digest), Digest.sha256(of: data) == pin.digest {
                return try ManifestDocument(decoding: data, mediaType: pin.mediaType)
            }
            do {
                let fetched = try pool.client(for: reference.registry)
                    .manifest(repository: reference.repository, reference: pin.digest.description, displayName: "\(reference.name)@\(pin.digest)")
                try? cache.put(fetched.data)
                return try fetched.document()
            } catch {
                throw DeltaError.baseManifestUnavailable(path: path, reference: reference.description, digest: pin.digest, reason: "\(error)")
            }
        }
        func walk(_ pin: Pin, of reference: Reference, depth: Int) throws {
            guard MediaType.isIndex(pin.mediaType) || MediaType.isManifest(pin.mediaType) else { return }
            try ImageIndex.checkNesting(depth, at: pin.digest)
            switch try document(pin, of: reference) {
            case .index(let index):
                for child in index.manifests { try walk(Pin(child), of: reference, depth: depth + 1) }
            case .manifest(let manifest):
                // Configs are documents: a delta carries them whatever the base holds.
                for layer in manifest.layers { add(layer.digest, layer.size, reference.name) }
            }
        }

        for image in lock.images {
            let reference = try Reference(parsing: image.reference)
            guard let bundled = image.bundled else { throw DeltaError.baseUnresolved(path: path, reference: image.reference) }
            try walk(bundled, of: reference, depth: 1)
            for artifact in image.signatures ?? [] {
                // Signature payloads are bytes each; a signature the cache lost is carried again
                // rather than fetched.
                let signatureReference = try Reference(parsing: artifact.reference)
                guard cache.contains(artifact.bundled.digest, size: artifact.bundled.size) else { continue }
                try walk(artifact.bundled, of: signatureReference, depth: 1)
            }
        }
        for jar in lock.jars {
            guard let digest = jar.sha256, let size = jar.size else { throw DeltaError.baseUnresolved(path: path, reference: jar.coordinates.description) }
            add(digest, size, try Reference(parsing: jar.reference).name)
        }
        return DeltaBase(path: path, lockDigest: Digest.sha256(of: data), blobs: blobs)
    }

    /// Which of `entries`' blobs the base already holds: layers and JARs only. Documents
    /// (manifests, indexes, configs) and chart archives are always carried: verify walks the
    /// graph from them, and `--chart-out` unpacks the chart from the bundle itself.
    public func external(for entries: [BundleEntry]) -> [ExternalBlob] {
        var kept = Set<Digest>()
        for entry in entries {
            kept.formUnion(entry.documents.keys)
            for data in entry.documents.values {
                if case .manifest(let manifest)? = try? ManifestDocument(decoding: data, mediaType: nil) { kept.insert(manifest.config.digest) }
            }
            if entry.kind == .chart { kept.formUnion(entry.blobs.map(\.digest)) }
        }
        var external: [Digest: ExternalBlob] = [:]
        for entry in entries {
            for blob in entry.blobs where !kept.contains(blob.digest) {
                if let base = blobs[blob.digest], base.size == blob.size { external[blob.digest] = base }
            }
        }
        return external.values.sorted { $0.digest < $1.digest }
    }
}
