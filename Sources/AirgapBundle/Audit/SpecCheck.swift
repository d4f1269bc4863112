import Foundation
import Manifests

/// The spec against the lock: an edited spec that was not locked again.
enum SpecCheck {
    static func findings(_ lock: Lockfile, specPath: String, lockPath: String) -> [Finding] {
        let spec: BundleSpec
        do { spec = try BundleSpec.load(path: specPath) } catch {
            return [Finding("SPEC-INVALID", .error, specPath, "\(error)", fix: "fix the spec")]
        }
        guard lock.specDigest == spec.canonicalDigest.description else {
            return [Finding("LOCK-SPEC-CHANGED", .error, specPath, "changed since \(lockPath) was written", fix: "run `airgap lock`")]
        }
        return []
    }

}
