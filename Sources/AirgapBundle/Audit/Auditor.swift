import Foundation
import Manifests
import OCILayout
import Yams

/// What `airgap audit` found, as `--json` prints it.
public struct AuditReport: Codable, Sendable {
    public var findings: [Finding]
    /// The checks that ran: lock, spec, flink, bundle, chart, registry.
    public var checked: [String]
    public var counts: [String: Int]
    /// The lock audited against: the `--lock` file, or the one inside the bundle.
    public var lock: String

    public func worst(atLeast threshold: Finding.Severity) -> Bool {
        findings.contains { $0.severity >= threshold }
    }
}

/// The audit itself could not run (a missing lockfile, an unreadable bundle, an unreachable
/// registry): exit 2, as opposed to findings (exit 1).
public struct AuditCannotRun: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// What to audit against what.
public struct AuditRequest: Sendable {
    /// The lockfile; nil means the lock inside the bundle when there is a bundle, else
    /// `bundle.lock`.
    public var lockPath: String?
    public static let defaultLockPath = "bundle.lock"
    public var specPath: String?
    public var bundlePath: String?
    public var chartDirectory: String?
    /// The internal registry to check, and how push named the repositories there.
    public var registry: RegistryClient?
    public var naming: RepositoryNaming?

    public init(lockPath: String?, specPath: String? = nil, bundlePath: String? = nil, chartDirectory: String? = nil,
                registry: RegistryClient? = nil, naming: RepositoryNaming? = nil) {
        self.lockPath = lockPath
        self.specPath = specPath
        self.bundlePath = bundlePath
        self.chartDirectory = chartDirectory
        self.registry = registry
        self.naming = naming
    }
}

/// `airgap audit`: the lock, and the bundle, chart and registry against it, and the connector
/// JARs against the Flink they will run on. One check per file (`LockCheck`, `SpecCheck`,
/// `BundleCheck`, `ChartCheck`, `RegistryCheck`, and every Flink rule in `FlinkCompatibility`);
/// each finding has a stable id.
public struct Auditor: Sendable {
    public init() {}

    public func audit(_ request: AuditRequest) async throws -> AuditReport {
        var checked = ["lock"]
        var opened: BundleReader?
        let data: Data
        let lockName: String
        if let lockPath = request.lockPath ?? (request.bundlePath == nil ? AuditRequest.defaultLockPath : nil) {
            guard let contents = FileManager.default.contents(atPath: lockPath) else {
                throw AuditCannotRun("\(lockPath): no such lockfile; pass --lock PATH, or --bundle FILE to use the lock inside the bundle")
            }
            (data, lockName) = (contents, lockPath)
        } else {
            // The lock inside the bundle: only from a bundle that verifies. One that does not
            // lends no lock; its defect is the finding.
            let bundlePath = request.bundlePath ?? ""
            guard BundleReader.exists(bundlePath) else { throw AuditCannotRun("\(bundlePath): no such bundle") }
            let reader: BundleReader
            do {
                reader = try await BundleReader.open(bundlePath, progress: .silent)
            } catch {
                let defect = error as? LayoutDefect
                return report([Finding("BUNDLE-DEFECT", .error, defect?.entry ?? bundlePath, defect?.problem ?? "\(error)", fix: "pack the bundle again")],
                              ["bundle"], lock: "none (\(bundlePath) did not verify)")
            }
            guard let embedded = reader.lockData else {
                throw AuditCannotRun("\(bundlePath) carries no \(LayoutPath.lockFileName) (not packed by airgap); pass --lock PATH")
            }
            (opened, data, lockName) = (reader, embedded, "\(LayoutPath.lockFileName) in \(bundlePath)")
        }
        var findings: [Finding] = []
        let lock: Lockfile
        do { lock = try Lockfile.decode(data, path: lockName) } catch {
            var message = "\(error)"
            if case ManifestError.malformedLock(let location, let detail) = error { message = "\(location): not an airgap lockfile (\(detail))" }
            findings.append(Finding("LOCK-MALFORMED", .error, lockName, message, fix: "write it again with `airgap lock`"))
            return report(findings, checked, lock: lockName)
        }
        findings += LockCheck.findings(lock, path: lockName)
        if let specPath = request.specPath {
            checked.append("spec")
            findings += SpecCheck.findings(lock, specPath: specPath, lockPath: lockName)
        }

        var imageLib: (names: Set<String>, source: String)?
        var flinkFromImage: String?
        if let bundlePath = request.bundlePath {
            checked.append("bundle")
            guard BundleReader.exists(bundlePath) else { throw AuditCannotRun("\(bundlePath): no such bundle") }
            let (bundle, bundleFindings) = await BundleCheck.findings(bundlePath, against: lock, lockPath: lockName, opened: opened)
            findings += bundleFindings
            if let bundle, let flink = FlinkCompatibility.flinkImage(lock) {
                (imageLib, flinkFromImage) = try FlinkImageContents.read(flink, from: bundle)
            }
        }

        checked.append("flink")
        findings += FlinkCompatibility.findings(lock, versionFromImage: flinkFromImage, imageLib: imageLib)

        if let chartDirectory = request.chartDirectory {
            checked.append("chart")
            findings += try ChartCheck.findings(chartDirectory, against: lock)
        }
        if let registry = request.registry {
            checked.append("registry")
            findings += try await RegistryCheck.findings(registry, naming: request.naming ?? RepositoryNaming(registry: registry.endpoint.name), lock: lock)
        }
        return report(findings, checked, lock: lockName)
    }

    private func report(_ findings: [Finding], _ checked: [String], lock: String) -> AuditReport {
        let unique = Array(Set(findings)).sorted()
        var counts = Dictionary(uniqueKeysWithValues: Finding.Severity.allCases.map { ($0.rawValue, 0) })
        for finding in unique { counts[finding.severity.rawValue, default: 0] += 1 }
        return AuditReport(findings: unique, checked: checked, counts: counts, lock: lock)
    }

    /// The Flink compatibility findings of a lock alone: what `lock` and `pack` print as warnings
    /// (`audit` is the gate).
    public static func compatibilityFindings(_ lock: Lockfile) -> [Finding] {
        FlinkCompatibility.findings(lock, versionFromImage: nil, imageLib: nil)
    }
}
