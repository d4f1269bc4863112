import Foundation
import Manifests

/// The lock on its own: a known format, every entry pinned by digest, JARs verified.
enum LockCheck {
    static func findings(_ lock: Lockfile, path: String) -> [Finding] {
        var findings: [Finding] = []
        if lock.lockVersion > Lockfile.currentVersion || lock.lockVersion < 1 {
            findings.append(Finding("LOCK-VERSION", .error, path, "lock format \(lock.lockVersion) is unknown to this airgap (\(Lockfile.currentVersion))",
                                    fix: "use the airgap that wrote it, or `airgap lock` again"))
        }
        let relock = "run `airgap lock` on a connected host"
        for image in lock.images {
            if let reason = image.unresolved {
                findings.append(Finding("LOCK-UNRESOLVED", .error, image.reference, reason, fix: relock))
            } else if image.bundled == nil || image.upstream == nil || image.manifests.isEmpty {
                findings.append(Finding("LOCK-TAG-ONLY", .error, image.reference, "pinned by its tag alone: no upstream or bundled digest recorded",
                                        fix: "\(relock); a tag can move, a digest cannot"))
            }
        }
        for jar in lock.jars {
            let artifact = jar.coordinates.description
            if let reason = jar.unresolved {
                findings.append(Finding("LOCK-UNRESOLVED", .error, artifact, reason, fix: relock))
                continue
            }
            if jar.sha256 == nil || jar.size == nil {
                findings.append(Finding("LOCK-JAR-UNPINNED", .error, artifact, "no SHA-256 recorded", fix: relock))
            }
            if !jar.verified {
                findings.append(Finding("LOCK-JAR-UNVERIFIED", .warning, artifact, "accepted with --allow-unverified: the repository published no checksum",
                                        fix: "check the JAR by other means, or take it from a repository that publishes .sha512/.sha1"))
            } else if jar.upstreamChecksum == nil {
                findings.append(Finding("LOCK-JAR-UNVERIFIED", .error, artifact, "marked verified, but no upstream checksum is recorded", fix: relock))
            }
        }
        for chart in lock.charts {
            if let reason = chart.unresolved {
                findings.append(Finding("LOCK-UNRESOLVED", .error, chart.reference, reason, fix: relock))
            } else if chart.digest == nil || chart.bundled == nil {
                findings.append(Finding("LOCK-CHART-UNPINNED", .error, chart.reference, "the chart is not pinned by digest", fix: relock))
            }
        }
        return findings
    }

}
