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
    public var push: PushOptions?

    public init(lockPath: String?, specPath: String? = nil, bundlePath: String? = nil, chartDirectory: String? = nil,
                registry: RegistryClient? = nil, push: PushOptions? = nil) {
        self.lockPath = lockPath
        self.specPath = specPath
        self.bundlePath = bundlePath
        self.chartDirectory = chartDirectory
        self.registry = registry
        self.push = push
    }
}

/// `airgap audit`: the lock, and the bundle, chart and registry against it, and the connector
/// JARs against the Flink they will run on. Each check is its own function; each finding has
/// a stable id.
public struct Auditor: Sendable {
    public init() {}

    public func audit(_ request: AuditRequest) async throws -> AuditReport {
        var findings: [Finding] = []
        var checked = ["lock"]
        // The bundle is verified first: when its own lock is the one to audit against, a lock
        // taken from a bundle that does not verify is not trusted.
        var bundle: VerifiedBundle?
        if let bundlePath = request.bundlePath {
            guard FileManager.default.fileExists(atPath: bundlePath) else { throw AuditCannotRun("\(bundlePath): no such bundle") }
            do {
                bundle = try await BundleVerifier(progress: TransferProgress(label: "audit", enabled: false)).verify(bundlePath)
            } catch let defect as LayoutDefect {
                findings.append(Finding("BUNDLE-DEFECT", .error, defect.entry, defect.problem, fix: "pack the bundle again"))
            }
        }
        let data: Data
        let lockName: String
        if let lockPath = request.lockPath ?? (request.bundlePath == nil ? AuditRequest.defaultLockPath : nil) {
            guard let contents = FileManager.default.contents(atPath: lockPath) else {
                throw AuditCannotRun("\(lockPath): no such lockfile; pass --lock PATH, or --bundle FILE to use the lock inside the bundle")
            }
            (data, lockName) = (contents, lockPath)
        } else {
            let bundlePath = request.bundlePath ?? ""
            guard let bundle else {
                // Its defect is the finding; its lock cannot be trusted to check anything else.
                return report(findings, ["bundle"], lock: "none (\(bundlePath) did not verify)")
            }
            guard let embedded = bundle.lockFile else {
                throw AuditCannotRun("\(bundlePath) carries no \(LayoutPath.lockFileName) (not packed by airgap); pass --lock PATH")
            }
            (data, lockName) = (embedded, "\(LayoutPath.lockFileName) in \(bundlePath)")
        }
        let lock: Lockfile
        do { lock = try Lockfile.decode(data, path: lockName) } catch {
            findings.append(Finding("LOCK-MALFORMED", .error, lockName, "\(error)", fix: "write it again with `airgap lock`"))
            return report(findings, checked, lock: lockName)
        }
        findings += checkLock(lock, path: lockName)
        if let specPath = request.specPath {
            checked.append("spec")
            findings += try checkSpec(lock, specPath: specPath, lockPath: lockName)
        }

        var imageLib: (names: Set<String>, source: String)?
        var flinkFromImage: String?
        if let bundlePath = request.bundlePath {
            checked.append("bundle")
            if let bundle {
                findings += checkBundle(bundle, against: lock, lockPath: lockName)
                if let flink = flinkImage(lock) {
                    (imageLib, flinkFromImage) = try inspectFlinkImage(flink, bundle: bundle, path: bundlePath)
                }
            }
        }

        checked.append("flink")
        findings += checkFlink(lock, versionFromImage: flinkFromImage, imageLib: imageLib)

        if let chartDirectory = request.chartDirectory {
            checked.append("chart")
            findings += try checkChart(chartDirectory, against: lock)
        }
        if let registry = request.registry {
            checked.append("registry")
            findings += try await checkRegistry(registry, options: request.push ?? PushOptions(registry: registry.endpoint.name), lock: lock)
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
        Auditor().checkFlink(lock, versionFromImage: nil, imageLib: nil)
    }

    // MARK: lock hygiene

    func checkLock(_ lock: Lockfile, path: String) -> [Finding] {
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

    func checkSpec(_ lock: Lockfile, specPath: String, lockPath: String) throws -> [Finding] {
        let spec: BundleSpec
        do { spec = try BundleSpec.load(path: specPath) } catch {
            return [Finding("SPEC-INVALID", .error, specPath, "\(error)", fix: "fix the spec")]
        }
        guard lock.specDigest == spec.canonicalDigest.description else {
            return [Finding("LOCK-SPEC-CHANGED", .error, specPath, "changed since \(lockPath) was written", fix: "run `airgap lock`")]
        }
        return []
    }

    // MARK: bundle against lock

    func checkBundle(_ bundle: VerifiedBundle, against lock: Lockfile, lockPath: String) -> [Finding] {
        var findings: [Finding] = []
        let held = Dictionary(bundle.entries.map { ($0.reference, $0.digest) }, uniquingKeysWith: { first, _ in first })
        for (reference, pin) in lock.bundleEntries {
            guard let pin else { continue }  // reported as LOCK-UNRESOLVED
            guard let digest = held[reference] else {
                findings.append(Finding("BUNDLE-MISSING", .error, reference, "pinned by \(lockPath), absent from the bundle", fix: "pack the bundle from this lock"))
                continue
            }
            if digest != pin.digest.description {
                findings.append(Finding("BUNDLE-DIGEST", .error, reference, "the bundle holds \(digest), the lock pins \(pin.digest)",
                                        fix: "pack the bundle from this lock"))
            }
        }
        for reference in held.keys where lock.bundleEntries[reference] == nil {
            findings.append(Finding("BUNDLE-EXTRA", .error, reference, "in the bundle but not in \(lockPath)", fix: "pack the bundle from this lock"))
        }
        return findings
    }

    // MARK: Flink compatibility

    /// The lock's Flink image: the one named `…/flink`, else one whose tag reads as a Flink version.
    func flinkImage(_ lock: Lockfile) -> LockedImage? {
        lock.images.first { (try? Reference(parsing: $0.reference))?.repository.split(separator: "/").last == "flink" }
    }

    func checkFlink(_ lock: Lockfile, versionFromImage: String?, imageLib: (names: Set<String>, source: String)?) -> [Finding] {
        let jars = lock.jars.map(\.coordinates)
        guard !jars.isEmpty else { return [] }
        guard let image = flinkImage(lock), let reference = try? Reference(parsing: image.reference) else {
            return [Finding("FLINK-VERSION-UNKNOWN", .warning, "jars", "no Flink image in the lock to check the connectors against",
                            fix: "add the Flink image (…/flink:<version>) to the spec")]
        }
        let tag = reference.tag ?? ""
        guard let version = versionFromImage ?? FlinkCompatibility.flinkVersion(fromTag: tag) else {
            return [Finding("FLINK-VERSION-UNKNOWN", .warning, image.reference, "cannot tell the Flink version from the tag or the image",
                            fix: "use a tag that names the version, e.g. flink:1.17.1")]
        }
        var findings = FlinkCompatibility.check(jars: jars, flink: version, scala: FlinkCompatibility.scalaVersion(fromTag: tag) ?? "2.12",
                                                imageLib: imageLib?.names ?? FlinkCompatibility.officialImageLib,
                                                libSource: imageLib?.source ?? "the official image's lib/")
        if let fromTag = FlinkCompatibility.flinkVersion(fromTag: tag), let versionFromImage, fromTag != versionFromImage {
            findings.append(Finding("FLINK-TAG-MISMATCH", .error, image.reference, "the tag says \(fromTag), the image's FLINK_VERSION says \(versionFromImage)",
                                    fix: "lock the image that really is the Flink version you mean"))
        }
        return findings
    }

    /// The Flink image's own lib/ (from its layers, in order, with whiteouts) and its
    /// FLINK_VERSION, read from the bundle.
    func inspectFlinkImage(_ image: LockedImage, bundle: VerifiedBundle, path: String) throws -> ((names: Set<String>, source: String)?, String?) {
        guard let platform = image.manifests.first(where: { $0.platform.hasPrefix("linux/amd64") }) ?? image.manifests.first,
              let manifestData = bundle.documents[platform.digest],
              case .manifest(let manifest)? = try? ManifestDocument(decoding: manifestData, mediaType: nil)
        else { return (nil, nil) }
        var version: String?
        if let configData = bundle.documents[manifest.config.digest],
           let config = try? JSONSerialization.jsonObject(with: configData) as? [String: Any],
           let env = (config["config"] as? [String: Any])?["Env"] as? [String] {
            version = env.first { $0.hasPrefix("FLINK_VERSION=") }.map { String($0.dropFirst("FLINK_VERSION=".count)) }
        }
        let file = try FileDescriptor.openForReading(path)
        var lib = Set<String>()
        for layer in manifest.layers where bundle.blobOffsets[layer.digest.description] != nil {
            let source = try bundle.blobSource(layer, in: file)
            for name in try ArchiveProbe.entryNames(inLayerAt: source.offset, length: layer.size, of: file) {
                let path = name.hasPrefix("./") ? String(name.dropFirst(2)) : name
                guard path.hasPrefix("opt/flink/lib/") else { continue }
                let file = String(path.dropFirst("opt/flink/lib/".count))
                if file.hasPrefix(".wh.") {
                    lib.remove(Self.artifactName(ofJar: String(file.dropFirst(4))))
                } else if file.hasSuffix(".jar") {
                    lib.insert(Self.artifactName(ofJar: file))
                }
            }
        }
        return ((lib, "read from the bundled image \(image.reference)"), version)
    }

    /// `flink-json-1.17.1.jar` → `flink-json`.
    static func artifactName(ofJar file: String) -> String {
        var parts = file.replacingOccurrences(of: ".jar", with: "").split(separator: "-").map(String.init)
        while let last = parts.last, parts.count > 1, last.first?.isNumber == true { parts.removeLast() }
        return parts.joined(separator: "-")
    }

    // MARK: chart against lock

    func checkChart(_ directory: String, against lock: Lockfile) throws -> [Finding] {
        var findings: [Finding] = []
        guard FileManager.default.fileExists(atPath: "\(directory)/Chart.yaml") else {
            throw AuditCannotRun("\(directory): no Chart.yaml; --chart-dir names a chart directory")
        }
        var values: [String: Any] = [:]
        for file in ["values.yaml", "values-airgap.yaml"] {
            guard let text = try? String(contentsOfFile: "\(directory)/\(file)", encoding: .utf8) else { continue }
            guard let parsed = try? Yams.load(yaml: text) as? [String: Any] else {
                findings.append(Finding("CHART-VALUES", .error, "\(directory)/\(file)", "not a YAML mapping", fix: "fix the file"))
                continue
            }
            values = Self.merge(values, parsed)
        }
        if let image = flinkImage(lock), let reference = try? Reference(parsing: image.reference) {
            let settings = values["image"] as? [String: Any] ?? [:]
            let repository = settings["repository"] as? String ?? ""
            let tag = settings["tag"].map { "\($0)" } ?? ""
            let digest = settings["digest"] as? String ?? ""
            let pins = [image.bundled?.digest.description, image.upstream?.digest.description].compactMap { $0 }
            let artifact = "\(directory) image"
            if !digest.isEmpty {
                if !pins.isEmpty, !pins.contains(digest) {
                    findings.append(Finding("CHART-IMAGE", .error, artifact, "image.digest \(digest) is not the locked \(image.reference) (\(pins[0]))",
                                            fix: "run `airgap push --chart-dir` to write values-airgap.yaml"))
                }
            } else {
                if tag != (reference.tag ?? "") {
                    findings.append(Finding("CHART-IMAGE", .error, artifact, "image.tag \(tag) is not the locked \(image.reference)",
                                            fix: "set image.tag to \(reference.tag ?? ""), or run `airgap push --chart-dir`"))
                } else {
                    findings.append(Finding("CHART-IMAGE-TAG", .warning, artifact, "the chart names the image by tag only",
                                            fix: "run `airgap push --chart-dir` to pin image.digest in values-airgap.yaml"))
                }
            }
            if repository.split(separator: "/").last.map(String.init) != reference.repository.split(separator: "/").last.map(String.init)
                && repository.replacingOccurrences(of: "-", with: "/") != reference.repository {
                findings.append(Finding("CHART-IMAGE", .error, artifact, "image.repository \(repository) is not the locked \(reference.repository)",
                                        fix: "run `airgap push --chart-dir` to write values-airgap.yaml"))
            }
        }

        let libs = "\(directory)/files/libs"
        let present = Set(((try? FileManager.default.contentsOfDirectory(atPath: libs)) ?? []).filter { $0.hasSuffix(".jar") })
        var expected = Set<String>()
        for jar in lock.jars {
            let name = jar.coordinates.fileName
            expected.insert(name)
            guard let sha256 = jar.sha256 else { continue }
            guard present.contains(name) else {
                findings.append(Finding("CHART-LIBS-MISSING", .error, "\(libs)/\(name)", "the lock names \(jar.coordinates), files/libs lacks it",
                                        fix: "run `airgap push --chart-dir \(directory)`"))
                continue
            }
            let hasher = SHA256Hasher()
            try FileDescriptor.openForReading("\(libs)/\(name)").forEachChunk { hasher.update($0) }
            let actual = hasher.finalize()
            if actual != sha256 {
                findings.append(Finding("CHART-LIBS-CHECKSUM", .error, "\(libs)/\(name)", "hashes to \(actual), the lock pins \(sha256)",
                                        fix: "run `airgap push --chart-dir \(directory)` to write the locked JAR"))
            }
        }
        for stray in present.subtracting(expected).sorted() {
            findings.append(Finding("CHART-LIBS-STRAY", .error, "\(libs)/\(stray)", "not in the lock: it would ride onto the classpath unchecked",
                                    fix: "remove it (`airgap push --chart-dir … --prune`) or add it to the spec and lock"))
        }
        return findings
    }

    static func merge(_ base: [String: Any], _ override: [String: Any]) -> [String: Any] {
        var result = base
        for (key, value) in override {
            if let nested = value as? [String: Any], let existing = result[key] as? [String: Any] {
                result[key] = merge(existing, nested)
            } else {
                result[key] = value
            }
        }
        return result
    }

    // MARK: registry against lock

    func checkRegistry(_ client: RegistryClient, options: PushOptions, lock: Lockfile) async throws -> [Finding] {
        var findings: [Finding] = []
        for image in lock.images where image.unresolved == nil {
            guard let reference = try? Reference(parsing: image.reference), let bundled = image.bundled else { continue }
            let repository = options.targetRepository(for: reference.repository)
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
