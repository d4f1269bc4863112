import Foundation
import Manifests
import OCILayout

/// One way a lock and a bundle (or two locks) disagree.
public struct LockDifference: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// The lock pins an entry the bundle does not hold.
        case missing
        /// The bundle holds an entry the lock does not pin.
        case extra
        /// The entry is there at another digest.
        case digest
        /// Another field of the lock disagrees with the bundle (a size, a media type, a platform
        /// manifest, a JAR's SHA-256, a chart's digest, an upstream checksum).
        case field
        /// The entry has no pin at all (an unresolved or hand-edited lock).
        case unpinned
        /// Two locks disagree (`--lock` against the one inside the bundle).
        case lockVersusLock
    }

    public var kind: Kind
    /// What the difference is about: an entry's reference, or the lock file for top-level fields.
    public var subject: String
    /// Where a user looks: `index.json`, `airgap/bundle.lock`, the lock's path.
    public var place: String
    public var problem: String

    public var description: String { "\(place): \(problem)" }

    /// What the operator does about it.
    public var fix: String {
        switch kind {
        case .unpinned: return "lock it on a connected host"
        case .lockVersusLock: return "check the bundle with the lock it was packed from, or pack it again"
        default: return "the bundle and this lock do not belong together: pack the bundle again from its lock"
        }
    }

    /// The first difference, as `verify` reports it: one line, the place, the problem, the fix.
    public var defect: LayoutDefect { LayoutDefect(entry: place, problem: "\(problem); \(fix)") }
}

/// Every field of a lock against a bundle, and a lock against another lock field by field: the
/// one comparison `verify` (first difference ends it), `push` (nothing written unless there is
/// none) and `audit` (each difference a finding) share.
public enum LockComparison {
    /// The lock against what the bundle holds. Fields the bundle cannot tell (the spec digest,
    /// a JAR's URL path aside, the chart's source) are left to `compare(_:named:with:named:)`.
    public static func compare(_ lock: Lockfile, named lockName: String, with bundle: BundleReader) -> [LockDifference] {
        var differences: [LockDifference] = []
        let index = LayoutPath.indexFileName
        func add(_ kind: LockDifference.Kind, _ subject: String, _ problem: String, place: String = index) {
            differences.append(LockDifference(kind: kind, subject: subject, place: place, problem: problem))
        }
        if lock.lockVersion != Lockfile.currentVersion {
            add(.field, lockName, "lockVersion is \(lock.lockVersion); this airgap writes and checks \(Lockfile.currentVersion)", place: lockName)
        }

        /// The index.json entry a pin names, checked against the pin's digest, media type and size.
        func entry(_ reference: String, field: String, pin: Pin?, unresolved: String?, kind: BundleEntry.Kind) -> BundleItem? {
            if let unresolved {
                add(.unpinned, reference, "\(reference) is unresolved in \(lockName) (\(unresolved)); run `airgap lock`", place: lockName)
                return nil
            }
            guard let pin else {
                add(.unpinned, reference, "\(field).bundled: \(lockName) records no pin for \(reference); run `airgap lock`", place: lockName)
                return nil
            }
            guard let item = bundle.item(named: reference) else {
                add(.missing, reference, "has no \(reference), which \(lockName) pins at \(pin.digest)")
                return nil
            }
            if item.descriptor.digest != pin.digest {
                add(.digest, reference, "\(reference) is \(item.descriptor.digest), but \(lockName) pins \(pin.digest)")
                return nil
            }
            if item.descriptor.mediaType != pin.mediaType {
                add(.field, reference, "\(field).bundled.mediaType: \(reference) is \(item.descriptor.mediaType), but \(lockName) says \(pin.mediaType)")
            }
            if item.descriptor.size != pin.size {
                add(.field, reference, "\(field).bundled.size: \(reference) is \(item.descriptor.size) bytes, but \(lockName) says \(pin.size)")
            }
            if item.kind != kind {
                add(.field, reference, "\(reference) is a\(item.kind == .image ? "n" : "") \(item.kind.rawValue) in the bundle, but \(lockName) lists it among its \(kind.rawValue)s")
                return nil
            }
            return item
        }

        for image in lock.images {
            let field = "images[\(image.reference)]"
            guard let item = entry(image.reference, field: field, pin: image.bundled, unresolved: image.unresolved, kind: .image),
                  let bundled = image.bundled else { continue }
            compareImage(image, field: field, item: item, bundled: bundled, bundle: bundle, lockName: lockName) { add(.field, image.reference, $0) }
            for artifact in image.signatures ?? [] {
                let signatureField = "\(field).signatures[\(artifact.reference)]"
                compareSignature(artifact, of: image, field: signatureField) { add(.field, artifact.reference, $0, place: lockName) }
                _ = entry(artifact.reference, field: signatureField, pin: artifact.bundled, unresolved: nil, kind: .signature)
            }
            for check in image.verifiedBy ?? [] where !(image.signatures ?? []).contains(where: { $0.reference == check.signature && $0.kind == .signature && $0.subject == check.digest }) {
                add(.field, image.reference, "\(field).verifiedBy: \(lockName) says \(check.signature) verified \(check.digest.short), but does not carry that signature", place: lockName)
            }
        }
        for jar in lock.jars {
            let field = "jars[\(jar.coordinates)]"
            if jar.reference != jar.coordinates.bundleReference {
                add(.field, jar.reference, "\(field).reference: \(lockName) says \(jar.reference), the coordinates make \(jar.coordinates.bundleReference)", place: lockName)
            }
            guard let item = entry(jar.reference, field: field, pin: jar.bundled, unresolved: jar.unresolved, kind: .jar) else { continue }
            compareJar(jar, field: field, item: item, bundle: bundle, lockName: lockName) { add(.field, jar.reference, $0) }
        }
        for chart in lock.charts {
            let field = "charts[\(chart.reference)]"
            let expected = LockedChart.reference(name: chart.name, version: chart.version)
            if chart.reference != expected {
                add(.field, chart.reference, "\(field).reference: \(lockName) says \(chart.reference), the name and version make \(expected)", place: lockName)
            }
            guard let item = entry(chart.reference, field: field, pin: chart.bundled, unresolved: chart.unresolved, kind: .chart) else { continue }
            compareChart(chart, field: field, item: item, bundle: bundle, lockName: lockName) { add(.field, chart.reference, $0) }
        }
        if let delta = lock.delta { compareDelta(delta, lockName: lockName, bundle: bundle) { add(.field, lockName, $0, place: lockName) } }
        let pinned = Set(lock.images.flatMap { [$0.reference] + ($0.signatures ?? []).map(\.reference) }
                         + lock.jars.map(\.reference) + lock.charts.map(\.reference))
        for item in bundle.items where !pinned.contains(item.reference) {
            add(.extra, item.reference, "holds \(item.reference), which \(lockName) does not pin")
        }
        return differences
    }

    /// A delta's lock lists exactly the blobs the bundle's graph reaches and the tarball lacks,
    /// each once, at the size its descriptors give, with a repository to find it in. (The graph
    /// walk already refused a reached blob that is absent and unlisted, or listed at another size.)
    private static func compareDelta(_ delta: LockedDelta, lockName: String, bundle: BundleReader, _ report: (String) -> Void) {
        if delta.base.algorithm != .sha256 {
            report("delta.base: \(delta.base) is not the SHA-256 of a lock")
        }
        let reached = bundle.items.reduce(into: Set<Digest>()) { $0.formUnion($1.external) }
        var seen = Set<Digest>()
        for (position, blob) in delta.external.enumerated() {
            let field = "delta.external[\(blob.digest)]"
            if !seen.insert(blob.digest).inserted {
                report("\(field): listed twice")
            } else if position > 0, !(delta.external[position - 1].digest < blob.digest) {
                report("\(field): listed out of order (the list is sorted by digest)")
            }
            if bundle.snapshot.blobSizes[blob.digest] != nil {
                report("\(field): the bundle carries this blob itself, but \(lockName) says it is left to the base")
            } else if !reached.contains(blob.digest) {
                report("\(field): nothing in the bundle points at this blob, yet \(lockName) leaves it to the base")
            }
            if (try? Reference(parsing: blob.repository))?.name != blob.repository {
                report("\(field).repository: \"\(blob.repository)\" is not a repository name (registry/path)")
            }
        }
    }

    /// A signature entry is about a manifest the image carries, under the tag cosign (or the
    /// referrers schema) gives that manifest, in the image's repository.
    private static func compareSignature(_ artifact: LockedSignature, of image: LockedImage, field: String, _ report: (String) -> Void) {
        let carried = Set([image.bundled?.digest].compactMap { $0 } + image.manifests.map(\.digest))
        if !carried.contains(artifact.subject) {
            report("\(field).subject: \(artifact.subject) is not a manifest \(image.reference) carries")
        }
        guard let reference = try? Reference(parsing: artifact.reference), let imageReference = try? Reference(parsing: image.reference),
              reference.name == imageReference.name, reference.tag == Cosign.tag(for: artifact.subject, kind: artifact.kind)
        else {
            report("\(field).reference: not \((try? Reference(parsing: image.reference))?.name ?? image.reference):\(Cosign.tag(for: artifact.subject, kind: artifact.kind)), where a \(artifact.kind.rawValue) of \(artifact.subject.short) lives")
            return
        }
    }

    private static func compareImage(_ image: LockedImage, field: String, item: BundleItem, bundled: Pin, bundle: BundleReader,
                                     lockName: String, _ report: (String) -> Void) {
        let reference = image.reference
        // Platform manifests: the same set, each at its digest, size and platform.
        let carried = Dictionary(item.platformManifests.map { ($0.digest, $0) }, uniquingKeysWith: { first, _ in first })
        for locked in image.manifests {
            let where_ = "\(field).manifests[\(locked.platform)]"
            guard let manifest = carried[locked.digest] else {
                report("\(where_).digest: \(reference) carries no platform manifest \(locked.digest), which \(lockName) pins")
                continue
            }
            if manifest.size != locked.size {
                report("\(where_).size: \(reference)'s manifest \(locked.digest.short) is \(manifest.size) bytes, but \(lockName) says \(locked.size)")
            }
            let platform = manifest.platform?.description ?? "unspecified"
            if platform != locked.platform {
                report("\(where_).platform: \(reference)'s manifest \(locked.digest.short) is for \(platform), but \(lockName) says \(locked.platform)")
            }
        }
        let locked = Set(image.manifests.map(\.digest))
        for manifest in item.platformManifests where !locked.contains(manifest.digest) {
            report("\(field).manifests: \(reference) carries the platform manifest \(manifest.digest) (\(manifest.platform?.description ?? "unspecified")), which \(lockName) does not list")
        }

        // Upstream: the bundled entry itself, or the index it was narrowed from.
        if let upstream = image.upstream {
            if upstream.digest == bundled.digest {
                if upstream.mediaType != bundled.mediaType || upstream.size != bundled.size {
                    report("\(field).upstream: \(lockName) says the upstream \(upstream.digest.short) is \(upstream.mediaType), \(upstream.size) bytes; the bundle carries it as \(item.descriptor.mediaType), \(item.descriptor.size) bytes")
                }
                if image.platforms != "all", MediaType.isIndex(upstream.mediaType), item.platformManifests.count != image.manifests.count {
                    report("\(field).upstream: the upstream index is carried whole, but \(lockName) lists \(image.manifests.count) platform(s)")
                }
            } else if MediaType.isIndex(item.descriptor.mediaType) {
                var recorded: String?
                if case .index(let index)? = bundle.document(item.descriptor) { recorded = index.annotations?[AnnotationKey.airgapUpstreamDigest] }
                if recorded != upstream.digest.description {
                    report("\(field).upstream.digest: \(lockName) says \(upstream.digest), the bundled index was narrowed from \(recorded ?? "nothing recorded")")
                }
                if upstream.mediaType != bundled.mediaType {
                    report("\(field).upstream.mediaType: \(lockName) says \(upstream.mediaType), the bundled index narrowed from it is \(bundled.mediaType)")
                }
            } else if !MediaType.isIndex(upstream.mediaType) {
                report("\(field).upstream: \(lockName) says \(reference) resolved to the manifest \(upstream.digest), but the bundle carries another one, \(bundled.digest)")
            }
            if upstream.size <= 0 {
                report("\(field).upstream.size: \(upstream.size) is not a size")
            }
            if image.platforms == "all", upstream.digest != bundled.digest {
                report("\(field).platforms: \(lockName) asks for all platforms, but the bundle carries a selection (\(item.platforms.joined(separator: ",")))")
            }
        } else {
            report("\(field).upstream: \(lockName) records no upstream digest for \(reference)")
        }

        // Platforms asked for: each carried manifest is one of them, and each has one.
        if image.platforms != "all" {
            let wanted = image.platforms.split(separator: ",").map { try? Platform(parsing: String($0)) }
            if wanted.isEmpty || wanted.contains(where: { $0 == nil }) {
                report("\(field).platforms: \"\(image.platforms)\" is not a list of os/architecture platforms")
            } else {
                let platforms = wanted.compactMap { $0 }
                // A single manifest's index entry may name no platform: its config does.
                let known = item.platformManifests.compactMap { $0.platform ?? configPlatform(of: $0, in: bundle) }
                if let stray = known.first(where: { offered in !platforms.contains { $0.accepts(offered) } }) {
                    report("\(field).platforms: \(reference) carries \(stray), which \(lockName) did not ask for (\(image.platforms))")
                } else if known.count == item.platformManifests.count, let absent = platforms.first(where: { wanted in !known.contains { wanted.accepts($0) } }) {
                    report("\(field).platforms: \(lockName) asks for \(absent), which \(reference) does not carry")
                }
            }
        }
        if image.size != item.bytes {
            report("\(field).size: \(reference) carries \(item.bytes) bytes, but \(lockName) says \(image.size.map(String.init) ?? "nothing")")
        }
    }

    /// The platform a manifest's config declares (`os`, `architecture`, `variant`).
    private static func configPlatform(of manifest: Descriptor, in bundle: BundleReader) -> Platform? {
        struct ConfigPlatform: Decodable { var os: String?; var architecture: String?; var variant: String? }
        guard case .manifest(let parsed)? = bundle.document(manifest), let data = bundle.documents[parsed.config.digest],
              let config = try? JSONDecoder().decode(ConfigPlatform.self, from: data), let os = config.os, let architecture = config.architecture
        else { return nil }
        return Platform(os: os, architecture: architecture, variant: config.variant)
    }

    private static func compareJar(_ jar: LockedJar, field: String, item: BundleItem, bundle: BundleReader, lockName: String,
                                   _ report: (String) -> Void) {
        let artifact = jar.coordinates.description
        guard let layer = bundle.jarLayer(of: item) else {
            report("\(field): \(jar.reference) in the bundle is not a JAR artifact with one layer")
            return
        }
        if case .manifest(let manifest)? = bundle.document(item.descriptor),
           let named = manifest.annotations?[ArtifactManifests.mavenCoordinatesAnnotation], named != artifact {
            report("\(field).coordinates: the bundle's artifact is \(named), \(lockName) says \(artifact)")
        }
        if let sha256 = jar.sha256 {
            if sha256 != layer.digest {
                report("\(field).sha256: \(lockName) pins \(sha256), but the JAR in the bundle is \(layer.digest)")
            }
        } else {
            report("\(field).sha256: \(lockName) records no SHA-256 for \(artifact)")
        }
        if jar.size != layer.size {
            report("\(field).size: the JAR in the bundle is \(layer.size) bytes, but \(lockName) says \(jar.size.map(String.init) ?? "nothing")")
        }
        let title = layer.annotations?[AnnotationKey.title]
        if title != jar.coordinates.fileName {
            report("\(field): the JAR in the bundle is titled \(title ?? "nothing"), the coordinates make \(jar.coordinates.fileName)")
        }
        if !jar.url.hasSuffix("/" + jar.coordinates.repositoryPath) || URL(string: jar.url)?.host == nil {
            report("\(field).url: \(jar.url) is not where \(artifact) lives in a Maven repository (…/\(jar.coordinates.repositoryPath))")
        }
        // The upstream checksum must be what the repository published for these very bytes.
        switch (jar.verified, jar.upstreamChecksum) {
        case (true, nil):
            report("\(field).verified: \(lockName) says verified, but records no upstream checksum")
        case (false, .some):
            report("\(field).verified: \(lockName) says unverified, but records an upstream checksum")
        case (_, .some(let checksum)):
            guard let algorithm = ChecksumHasher.Algorithm(rawValue: checksum.algorithm) else { break }
            guard checksum.value.count == algorithm.hexLength, checksum.value.allSatisfy(\.isHexDigit) else {
                report("\(field).upstreamChecksum.value: \(checksum.value) is not a \(algorithm.rawValue) value")
                break
            }
            guard layer.digest == jar.sha256, let actual = try? hash(layer, with: algorithm, in: bundle) else { break }
            if actual != checksum.value.lowercased() {
                report("\(field).upstreamChecksum: the JAR in the bundle has \(algorithm.rawValue) \(actual), but \(lockName) records \(checksum.value)")
            }
        case (false, nil):
            break
        }
        if let checksum = jar.upstreamChecksum, ChecksumHasher.Algorithm(rawValue: checksum.algorithm) == nil {
            report("\(field).upstreamChecksum.algorithm: \(checksum.algorithm) is not sha1, sha256 or sha512")
        }
    }

    private static func hash(_ layer: Descriptor, with algorithm: ChecksumHasher.Algorithm, in bundle: BundleReader) throws -> String {
        let hasher = ChecksumHasher(algorithm)
        try bundle.source(for: layer).forEachChunk { hasher.update($0) }
        return hasher.finalizeHex()
    }

    private static func compareChart(_ chart: LockedChart, field: String, item: BundleItem, bundle: BundleReader, lockName: String,
                                     _ report: (String) -> Void) {
        guard case .manifest(let manifest)? = bundle.document(item.descriptor), manifest.layers.count == 1 else {
            report("\(field): \(chart.reference) in the bundle is not a chart with one layer")
            return
        }
        let layer = manifest.layers[0]
        if chart.digest != layer.digest {
            report("\(field).digest: \(lockName) pins the chart archive \(chart.digest?.description ?? "nothing"), but the bundle carries \(layer.digest)")
        }
        if chart.size != layer.size {
            report("\(field).size: the chart archive in the bundle is \(layer.size) bytes, but \(lockName) says \(chart.size.map(String.init) ?? "nothing")")
        }
        struct ChartConfig: Decodable { var name: String?; var version: String? }
        let config = bundle.documents[manifest.config.digest].flatMap { try? JSONDecoder().decode(ChartConfig.self, from: $0) }
        if config?.name != chart.name {
            report("\(field).name: the bundled chart is \(config?.name ?? "unnamed"), \(lockName) says \(chart.name)")
        }
        if config?.version != chart.version {
            report("\(field).version: the bundled chart is version \(config?.version ?? "none"), \(lockName) says \(chart.version)")
        }
        if chart.source.isEmpty || !["path:", "repo:", "oci:"].contains(where: chart.source.hasPrefix) {
            report("\(field).source: \"\(chart.source)\" is not path:, repo: or oci:")
        }
    }

    /// `--lock` (the spec's lock) against the lock a bundle carries. A delta's carried lock is
    /// the spec's lock plus its delta section, which is compared only when `--lock` has one too.
    public static func compare(_ given: Lockfile, named givenName: String, withCarried carried: Lockfile, named carriedName: String) -> [LockDifference] {
        var carried = carried
        if given.delta == nil { carried.delta = nil }
        return compare(given, named: givenName, with: carried, named: carriedName)
    }

    /// Two locks field by field (`--lock` against the one the bundle carries): the first
    /// argument's name and value, then the second's, for every field that differs. Entries are
    /// matched by reference and platform manifests by platform, so one missing entry is one
    /// difference, not a shifted list.
    public static func compare(_ first: Lockfile, named firstName: String, with second: Lockfile, named secondName: String) -> [LockDifference] {
        guard let left = try? JSONSerialization.jsonObject(with: JSONEncoder.canonical().encode(first)),
              let right = try? JSONSerialization.jsonObject(with: JSONEncoder.canonical().encode(second)) else { return [] }
        var differences: [LockDifference] = []
        func text(_ value: Any?) -> String {
            guard let value, !(value is NSNull) else { return "nothing" }
            if let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed, .withoutEscapingSlashes]) {
                return String(decoding: data, as: UTF8.self)
            }
            return "\(value)"
        }
        func walk(_ a: Any?, _ b: Any?, path: String, subject: String) {
            if let a = a as? [String: Any], let b = b as? [String: Any] {
                for key in Set(a.keys).union(b.keys).sorted() {
                    walk(a[key], b[key], path: path.isEmpty ? key : "\(path).\(key)", subject: subject)
                }
            } else if let a = a as? [Any], let b = b as? [Any] {
                let keyed = { (list: [Any]) -> [(String, Any)] in
                    list.enumerated().map { position, element in
                        let object = element as? [String: Any]
                        let key = (object?["reference"] ?? object?["platform"]).map { "\($0)" } ?? "\(position)"
                        return (key, element)
                    }
                }
                let left = keyed(a), right = keyed(b)
                let rightByKey = Dictionary(right, uniquingKeysWith: { first, _ in first })
                let leftByKey = Dictionary(left, uniquingKeysWith: { first, _ in first })
                for (key, element) in left {
                    let object = element as? [String: Any]
                    let inner = object?["reference"].map { "\($0)" } ?? subject
                    walk(element, rightByKey[key], path: "\(path)[\(key)]", subject: inner)
                }
                for (key, element) in right where leftByKey[key] == nil {
                    walk(nil, element, path: "\(path)[\(key)]", subject: subject)
                }
                if left.count == right.count, left.map(\.0) != right.map(\.0), Set(left.map(\.0)) == Set(right.map(\.0)) {
                    differences.append(LockDifference(kind: .lockVersusLock, subject: subject, place: firstName,
                                                      problem: "\(path): listed in another order than in \(secondName)"))
                }
            } else if a == nil || b == nil, (a ?? b) is [String: Any] {
                let (present, absent) = a == nil ? (secondName, firstName) : (firstName, secondName)
                differences.append(LockDifference(kind: .lockVersusLock, subject: subject, place: firstName,
                                                  problem: "\(path) is in \(present) but not in \(absent)"))
            } else if !equal(a, b) {
                differences.append(LockDifference(kind: .lockVersusLock, subject: subject, place: firstName,
                                                  problem: "\(path) is \(text(a)), but \(secondName) says \(text(b))"))
            }
        }
        walk(left, right, path: "", subject: firstName)
        return differences
    }

    private static func equal(_ a: Any?, _ b: Any?) -> Bool {
        switch (a, b) {
        case (nil, nil): return true
        case (let a as NSNull, let b as NSNull): return a == b
        case (let a as NSNumber, let b as NSNumber): return a == b
        case (let a as String, let b as String): return a == b
        case (let a as [String: Any], let b as [String: Any]): return NSDictionary(dictionary: a).isEqual(to: b)
        case (let a as [Any], let b as [Any]): return NSArray(array: a).isEqual(to: b)
        default: return false
        }
    }
}
