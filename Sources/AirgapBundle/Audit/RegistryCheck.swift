import Foundation
import Manifests

/// The internal registry against the lock: every locked image and platform manifest present at
/// its digest, where push would have put it (`RepositoryNaming`).
enum RegistryCheck {
    static func findings(_ client: RegistryClient, naming: RepositoryNaming, lock: Lockfile) async throws -> [Finding] {
        var findings: [Finding] = []
        for image in lock.images where image.unresolved == nil {
            guard let reference = try? Reference(parsing: image.reference), let bundled = image.bundled else { continue }
            let repository = naming.repository(for: reference.repository)
            let wanted = [(image.reference, bundled.digest, bundled.mediaType)]
                + image.manifests.filter { $0.digest != bundled.digest }.map { ("\(image.reference) (\($0.platform))", $0.digest, MediaType.ociManifest) }
            for (artifact, digest, mediaType) in wanted {
                let found: Digest?
                do {
                    found = try await offload { try client.manifestDigest(repository: repository, reference: digest.description, mediaType: mediaType) }
                } catch {
                    throw AuditCannotRun("\(client.endpoint.name): \(error)")
                }
                if found == nil {
                    findings.append(Finding("REGISTRY-MISSING", .error, artifact, "\(client.endpoint.name)/\(repository)@\(digest) is not in the registry",
                                            fix: "run `airgap push` with the bundle of this lock"))
                }
            }
        }
        return findings
    }
}
