import Foundation
import Manifests

/// The internal registry against the lock: every locked image and platform manifest present at
/// its digest, where push would have put it (`RepositoryNaming`).
enum RegistryCheck {
    static func findings(_ client: RegistryClient, naming: RepositoryNaming, lock: Lockfile) async throws -> [Finding] {
        struct Wanted: Sendable { var artifact: String; var repository: String; var digest: Digest; var mediaType: String }
        var wanted: [Wanted] = []
        for image in lock.images where image.unresolved == nil {
            guard let reference = try? Reference(parsing: image.reference), let bundled = image.bundled else { continue }
            let repository = naming.repository(for: reference.repository)
            wanted.append(Wanted(artifact: image.reference, repository: repository, digest: bundled.digest, mediaType: bundled.mediaType))
            wanted += image.manifests.filter { $0.digest != bundled.digest }.map {
                Wanted(artifact: "\(image.reference) (\($0.platform))", repository: repository, digest: $0.digest, mediaType: MediaType.ociManifest)
            }
        }
        // HEADs only, so as many at once as push would send; findings keep the lock's order.
        let present: [Bool]
        do {
            present = try await WorkerPool(width: WorkerPool.defaultJobs).map(wanted) { wanted, _ in
                try client.manifestDigest(repository: wanted.repository, reference: wanted.digest.description, mediaType: wanted.mediaType) != nil
            }
        } catch {
            throw AuditCannotRun("\(client.endpoint.name): \(error)")
        }
        return zip(wanted, present).filter { !$0.1 }.map { wanted, _ in
            Finding("REGISTRY-MISSING", .error, wanted.artifact, "\(client.endpoint.name)/\(wanted.repository)@\(wanted.digest) is not in the registry",
                    fix: "run `airgap push` with the bundle of this lock")
        }
    }
}
