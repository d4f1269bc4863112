import Foundation
import Manifests
import OCILayout

/// The chart's libs image: the Flink image with one more layer holding the connector JARs under
/// `/libs`, for every platform the bundle carries. Its init container copies them into
/// `/opt/flink/lib` (the Flink layers give it the shell to do so). Built the same way every
/// time, so its digests are stable and a second push finds it already there.
///
/// The layer is an uncompressed tar: JARs are zip files already, and its digest is then also its
/// `diff_id`, so it is written and hashed once.
struct LibsImage {
    static let repositoryName = RepositoryNaming.libsImageName
    static let layerMediaType = MediaType.ociLayer
    static let dockerLayerMediaType = "application/vnd.docker.image.rootfs.diff.tar"

    /// The new blobs (layer, configs) in a temporary file, by digest, with where each starts.
    let blobFile: PartedFile
    let blobFilePath: String
    let blobs: [Digest: (offset: Int64, descriptor: Descriptor)]
    /// Manifests children-first, the image's top last.
    let manifests: [(descriptor: Descriptor, data: Data)]
    /// Base layers, to mount from the Flink repository.
    let baseBlobs: [Descriptor]
    var top: Descriptor { manifests.last!.descriptor }

    /// `jars`: file name and where its bytes are in the bundle.
    init(base: Descriptor, documents: [Digest: Data], jars: [(name: String, source: BlobSource)], temporaryDirectory: String) throws {
        let path = "\(temporaryDirectory)/.airgap-libs-\(getpid())-\(UUID().uuidString)"
        let output = try FileDescriptor(path: path, flags: O_RDWR | O_CREAT | O_EXCL, mode: 0o600)
        unlink(path)  // the open descriptor keeps it; nothing is left on disk after us

        // The layer: libs/ and each JAR, sorted, fixed metadata.
        let layerHasher = SHA256Hasher()
        let tar = try TarWriter(file: output, hasher: layerHasher)
        try tar.addDirectory("libs")
        for jar in jars.sorted(by: { $0.name < $1.name }) {
            // Hashed again on the way in: the image carries exactly the bytes the bundle proved.
            let jarHasher = SHA256Hasher()
            try tar.addFile("libs/\(jar.name)", size: jar.source.descriptor.size) { write in
                try jar.source.forEachChunk { chunk in
                    jarHasher.update(chunk)
                    try write(chunk)
                }
            }
            let actual = jarHasher.finalize()
            guard actual == jar.source.descriptor.digest else {
                throw LayoutError.digestMismatch(path: "libs/\(jar.name)", expected: jar.source.descriptor.digest.description, actual: actual.description)
            }
        }
        try tar.finish()
        let layerSize = try output.size()
        let layerDigest = layerHasher.finalize()
        var newBlobs: [Digest: (Int64, Descriptor)] = [layerDigest: (0, Descriptor(mediaType: Self.layerMediaType, digest: layerDigest, size: layerSize))]
        var newManifests: [(Descriptor, Data)] = []
        var baseLayers: [Descriptor] = []
        var appendOffset = layerSize

        func store(_ data: Data, mediaType: String) throws -> Descriptor {
            let descriptor = Descriptor(mediaType: mediaType, digest: Digest.sha256(of: data), size: Int64(data.count))
            if newBlobs[descriptor.digest] == nil {
                _ = lseek(output.raw, off_t(appendOffset), SEEK_SET)
                try data.withUnsafeBytes { try output.write($0) }
                newBlobs[descriptor.digest] = (appendOffset, descriptor)
                appendOffset += Int64(data.count)
            }
            return descriptor
        }

        /// One platform manifest: the base's, plus the layer, with its config extended.
        func extend(_ manifestDescriptor: Descriptor) throws -> Descriptor {
            guard let data = documents[manifestDescriptor.digest],
                  var manifest = try JSONSerialization.jsonObject(with: data) as? [String: Any],
                  case .manifest(let parsed) = try ManifestDocument(decoding: data, mediaType: manifestDescriptor.mediaType),
                  let configData = documents[parsed.config.digest],
                  var config = try JSONSerialization.jsonObject(with: configData) as? [String: Any]
            else { throw LayoutError.missingBlob(manifestDescriptor.digest.description) }
            baseLayers += parsed.layers
            var rootfs = config["rootfs"] as? [String: Any] ?? ["type": "layers"]
            rootfs["diff_ids"] = (rootfs["diff_ids"] as? [String] ?? []) + [layerDigest.description]
            config["rootfs"] = rootfs
            if var history = config["history"] as? [[String: Any]] {
                history.append(["created_by": "airgap push: connector JARs in /libs"])
                config["history"] = history
            }
            let newConfig = try store(try JSONSerialization.data(withJSONObject: config, options: [.sortedKeys, .withoutEscapingSlashes]),
                                      mediaType: parsed.config.mediaType)
            let isDocker = manifestDescriptor.mediaType == MediaType.dockerManifest
            var layers = manifest["layers"] as? [[String: Any]] ?? []
            layers.append(["mediaType": isDocker ? Self.dockerLayerMediaType : Self.layerMediaType,
                           "digest": layerDigest.description, "size": layerSize])
            manifest["layers"] = layers
            manifest["config"] = ["mediaType": newConfig.mediaType, "digest": newConfig.digest.description, "size": newConfig.size]
            let newData = try JSONSerialization.data(withJSONObject: manifest, options: [.sortedKeys, .withoutEscapingSlashes])
            var descriptor = Descriptor(mediaType: manifestDescriptor.mediaType, digest: Digest.sha256(of: newData), size: Int64(newData.count))
            descriptor.platform = manifestDescriptor.platform
            newManifests.append((descriptor, newData))
            return descriptor
        }

        if MediaType.isIndex(base.mediaType) {
            guard let data = documents[base.digest], var index = try JSONSerialization.jsonObject(with: data) as? [String: Any],
                  case .index(let parsed) = try ManifestDocument(decoding: data, mediaType: base.mediaType)
            else { throw LayoutError.missingBlob(base.digest.description) }
            var children: [[String: Any]] = []
            for (child, raw) in zip(parsed.manifests, index["manifests"] as? [[String: Any]] ?? []) {
                var entry = raw
                if MediaType.isManifest(child.mediaType), ImageResolver.isRunnable(child) {
                    let extended = try extend(child)
                    entry["digest"] = extended.digest.description
                    entry["size"] = extended.size
                    children.append(entry)
                }
            }
            index["manifests"] = children
            let newData = try JSONSerialization.data(withJSONObject: index, options: [.sortedKeys, .withoutEscapingSlashes])
            newManifests.append((Descriptor(mediaType: base.mediaType, digest: Digest.sha256(of: newData), size: Int64(newData.count)), newData))
        } else {
            _ = try extend(base)
        }
        self.blobFilePath = path
        self.blobFile = try PartedFile(path: path, parts: [output])
        self.blobs = newBlobs
        self.manifests = newManifests
        self.baseBlobs = baseLayers
    }

    func source(for digest: Digest) -> BlobSource? {
        blobs[digest].map { BlobSource(file: blobFile, offset: $0.offset, descriptor: $0.descriptor) }
    }
}
