import Foundation
import Manifests
import OCILayout
import Yams

/// The chart directory against the lock: the image it names, and `files/libs/` exactly the
/// locked JARs at their locked SHA-256.
enum ChartCheck {
    static func findings(_ directory: String, against lock: Lockfile) throws -> [Finding] {
        var findings: [Finding] = []
        guard FileManager.default.fileExists(atPath: "\(directory)/Chart.yaml") else {
            throw AuditCannotRun("\(directory): no Chart.yaml; --chart-dir names a chart directory")
        }
        var values: [String: Any] = [:]
        for file in ["values.yaml", "values-airgap.yaml"] {
            guard let text = try? String(contentsOfFile: "\(directory)/\(file)", encoding: .utf8) else { continue }
            let parsed: [String: Any]
            do {
                guard let mapping = try YAMLInput.load(text, source: "\(directory)/\(file)") as? [String: Any] else {
                    findings.append(Finding("CHART-VALUES", .error, "\(directory)/\(file)", "not a YAML mapping", fix: "fix the file"))
                    continue
                }
                parsed = mapping
            } catch {
                findings.append(Finding("CHART-VALUES", .error, "\(directory)/\(file)", "\(error)", fix: "fix the file"))
                continue
            }
            values = Self.merge(values, parsed)
        }
        if let image = FlinkCompatibility.flinkImage(lock), let reference = try? Reference(parsing: image.reference) {
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

}
