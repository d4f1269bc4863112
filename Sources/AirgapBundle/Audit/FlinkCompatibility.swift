import Manifests

/// What no generic tool knows: whether connector JARs fit the Flink version they will run on.
public enum FlinkCompatibility {
    /// Flink CDC connector version (major.minor) → Flink minors it supports, from the version
    /// table of the Flink CDC documentation ("Supported Flink Versions").
    public static let cdcSupport: [String: [String]] = [
        "1.0": ["1.11"], "1.1": ["1.11"], "1.2": ["1.12"], "1.3": ["1.12"], "1.4": ["1.13"],
        "2.0": ["1.13"], "2.1": ["1.13"], "2.2": ["1.13", "1.14"], "2.3": ["1.13", "1.14", "1.15", "1.16"],
        "2.4": ["1.13", "1.14", "1.15", "1.16", "1.17"], "3.0": ["1.14", "1.15", "1.16", "1.17", "1.18"],
        "3.1": ["1.17", "1.18", "1.19"], "3.2": ["1.17", "1.18", "1.19"], "3.3": ["1.19", "1.20"], "3.4": ["1.19", "1.20"],
    ]

    /// Connectors and formats Flink itself released with each version (until they moved to their
    /// own repositories): their version must equal Flink's exactly.
    public static let inTree: Set<String> = [
        "flink-json", "flink-csv", "flink-avro", "flink-parquet", "flink-orc", "flink-avro-confluent-registry",
        "flink-sql-avro", "flink-sql-avro-confluent-registry", "flink-sql-parquet", "flink-sql-orc",
        "flink-connector-files", "flink-connector-base", "flink-table-api-java-bridge", "flink-statebackend-rocksdb",
        "flink-connector-kafka", "flink-sql-connector-kafka", "flink-connector-hive", "flink-sql-connector-hive-3.1.3_2.12",
        "flink-connector-jdbc", "flink-connector-elasticsearch7", "flink-sql-connector-elasticsearch7",
        "flink-connector-kinesis", "flink-sql-connector-kinesis", "flink-connector-pulsar", "flink-sql-connector-pulsar",
        "flink-connector-rabbitmq", "flink-sql-connector-rabbitmq", "flink-connector-hbase-2.2", "flink-sql-connector-hbase-2.2",
    ]

    /// What the official Flink image carries in /opt/flink/lib (checked against the bundled
    /// layers when the bundle is at hand; this list answers without it).
    public static let officialImageLib: Set<String> = [
        "flink-json", "flink-csv", "flink-connector-files", "flink-dist", "flink-table-api-java-uber",
        "flink-table-planner-loader", "flink-table-runtime", "flink-cep", "flink-scala",
    ]

    /// `1.17.1` out of a tag like `1.17.1`, `1.17.1-scala_2.12-java11` or `1.17`.
    public static func flinkVersion(fromTag tag: String) -> String? {
        let leading = tag.prefix { $0.isNumber || $0 == "." }
        let parts = leading.split(separator: ".")
        guard parts.count >= 2, parts.allSatisfy({ Int($0) != nil }) else { return nil }
        return parts.joined(separator: ".")
    }

    /// `2.12` out of `…-scala_2.12…`.
    public static func scalaVersion(fromTag tag: String) -> String? {
        guard let range = tag.range(of: "scala_") else { return nil }
        let version = tag[range.upperBound...].prefix { $0.isNumber || $0 == "." }
        return version.isEmpty ? nil : String(version)
    }

    static func minor(_ version: String) -> String {
        version.split(separator: ".").prefix(2).joined(separator: ".")
    }

    /// Findings for the JARs against a Flink version (and Scala version, 2.12 when unknown).
    public static func check(jars: [MavenCoordinate], flink: String, scala: String = "2.12", imageLib: Set<String> = officialImageLib,
                             libSource: String = "the official image's lib/") -> [Finding] {
        var findings: [Finding] = []
        let flinkMinor = minor(flink)
        for jar in jars {
            let artifact = jar.description
            var name = jar.artifactId
            // Scala-suffixed artifacts (`_2.12`) must match the image's Scala.
            if let underscore = name.lastIndex(of: "_"), name[name.index(after: underscore)...].allSatisfy({ $0.isNumber || $0 == "." }),
               name[name.index(after: underscore)...].contains(".") {
                let jarScala = String(name[name.index(after: underscore)...])
                name = String(name[..<underscore])
                if jarScala != scala {
                    findings.append(Finding("FLINK-SCALA", .error, artifact, "built for Scala \(jarScala), the Flink image runs Scala \(scala)",
                                            fix: "use the _\(scala) variant of \(name)"))
                }
            }
            let isCDC = name.hasSuffix("-cdc") && (jar.groupId == "com.ververica" || jar.groupId.hasPrefix("org.apache.flink"))
            if isCDC {
                let cdcMinor = minor(jar.version)
                if let supported = cdcSupport[cdcMinor] {
                    if !supported.contains(flinkMinor) {
                        findings.append(Finding("FLINK-CDC-VERSION", .error, artifact,
                                                "Flink CDC \(cdcMinor).x supports Flink \(supported.joined(separator: ", ")), not \(flinkMinor)",
                                                fix: "use a Flink CDC version that supports Flink \(flinkMinor) (\(cdcSupport.filter { $0.value.contains(flinkMinor) }.keys.sorted().map { "\($0).x" }.joined(separator: ", ")))"))
                    }
                } else {
                    findings.append(Finding("FLINK-CDC-UNKNOWN", .warning, artifact, "Flink CDC \(cdcMinor).x is not in airgap's compatibility table",
                                            fix: "check the Flink CDC documentation for Flink \(flinkMinor) support"))
                }
            } else if jar.groupId == "org.apache.flink" {
                let dash = jar.version.lastIndex(of: "-")
                let suffix = dash.map { String(jar.version[jar.version.index(after: $0)...]) }
                if let suffix, suffix.split(separator: ".").count == 2, suffix.split(separator: ".").allSatisfy({ Int($0) != nil }) {
                    // Externalized connector: <connector version>-<Flink minor>.
                    if suffix != flinkMinor {
                        findings.append(Finding("FLINK-CONNECTOR-VERSION", .error, artifact,
                                                "built for Flink \(suffix) (its -\(suffix) suffix), the image runs Flink \(flink)",
                                                fix: "use the -\(flinkMinor) build of \(jar.artifactId)"))
                    }
                } else if inTree.contains(name) || name.hasPrefix("flink-sql-connector-") || name.hasPrefix("flink-connector-") || name.hasPrefix("flink-") {
                    if jar.version != flink {
                        findings.append(Finding("FLINK-CONNECTOR-VERSION", .error, artifact,
                                                "Flink's own \(name) must match the Flink release exactly: \(jar.version) against \(flink)",
                                                fix: "use \(jar.groupId):\(jar.artifactId):\(flink)"))
                    }
                }
            }
            if imageLib.contains(name) || imageLib.contains(jar.artifactId) {
                let sameVersion = jar.version == flink
                findings.append(Finding("FLINK-IN-IMAGE", sameVersion ? .warning : .error, artifact,
                                        "\(name) is already in /opt/flink/lib (\(libSource)); a second copy is a duplicate on the classpath" + (sameVersion ? "" : " in another version"),
                                        fix: "drop it from the spec's jars"))
            }
        }
        // Two versions of one artifact on one classpath.
        let byArtifact = Dictionary(grouping: jars, by: { "\($0.groupId):\($0.artifactId)" })
        for (key, versions) in byArtifact where Set(versions.map(\.version)).count > 1 {
            findings.append(Finding("FLINK-DUPLICATE", .error, key, "listed in versions \(versions.map(\.version).sorted().joined(separator: ", "))",
                                    fix: "keep one version of \(key)"))
        }
        return findings.sorted()
    }

    // MARK: the lock's Flink

    /// The lock's Flink image: the one named `…/flink`, else one whose tag reads as a Flink version.
    public static func flinkImage(_ lock: Lockfile) -> LockedImage? {
        lock.images.first { (try? Reference(parsing: $0.reference))?.repository.split(separator: "/").last == "flink" }
    }

    /// Every Flink rule for a lock: the connectors against the Flink image's version (its tag, or
    /// its `FLINK_VERSION` when read from the bundle), and the tag against the image.
    static func findings(_ lock: Lockfile, versionFromImage: String?, imageLib: (names: Set<String>, source: String)?) -> [Finding] {
        let jars = lock.jars.map(\.coordinates)
        guard !jars.isEmpty else { return [] }
        guard let image = flinkImage(lock), let reference = try? Reference(parsing: image.reference) else {
            return [Finding("FLINK-VERSION-UNKNOWN", .warning, "jars", "no Flink image in the lock to check the connectors against",
                            fix: "add the Flink image (…/flink:<version>) to the spec")]
        }
        let tag = reference.tag ?? ""
        guard let version = versionFromImage ?? flinkVersion(fromTag: tag) else {
            return [Finding("FLINK-VERSION-UNKNOWN", .warning, image.reference, "cannot tell the Flink version from the tag or the image",
                            fix: "use a tag that names the version, e.g. flink:1.17.1")]
        }
        var findings = check(jars: jars, flink: version, scala: scalaVersion(fromTag: tag) ?? "2.12",
                                                imageLib: imageLib?.names ?? officialImageLib,
                                                libSource: imageLib?.source ?? "the official image's lib/")
        if let fromTag = flinkVersion(fromTag: tag), let versionFromImage, fromTag != versionFromImage {
            findings.append(Finding("FLINK-TAG-MISMATCH", .error, image.reference, "the tag says \(fromTag), the image's FLINK_VERSION says \(versionFromImage)",
                                    fix: "lock the image that really is the Flink version you mean"))
        }
        return findings
    }

    /// `flink-json-1.17.1.jar` → `flink-json`.
    static func artifactName(ofJar file: String) -> String {
        var parts = file.replacingOccurrences(of: ".jar", with: "").split(separator: "-").map(String.init)
        while let last = parts.last, parts.count > 1, last.first?.isNumber == true { parts.removeLast() }
        return parts.joined(separator: "-")
    }
}
