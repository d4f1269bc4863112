import Foundation
import Manifests
import OCILayout

/// Everything a spec resolved to: images down to manifests, JARs and charts into the cache.
public struct ResolvedBundle: Sendable {
    public var images: [ResolvedImage]
    public var jars: [ResolvedJar]
    public var charts: [ResolvedChart]
    /// Entries that could not be resolved, with why (only with `allowUnresolved`).
    public var unresolvedImages: [(ImageSpec, String)] = []
    public var unresolvedJars: [(MavenCoordinate, URL, String)] = []
    public var unresolvedCharts: [(ChartSource, String)] = []

    public var entries: [BundleEntry] {
        // Two images of one repository at one digest share their signatures: one entry each.
        var seen = Set<String>()
        let signatures = images.flatMap { $0.signatures ?? [] }.filter { seen.insert($0.reference).inserted }.map(\.entry)
        return images.map(\.entry) + signatures + jars.map(ArtifactManifests.jar) + charts.map(\.entry)
    }

    /// The lock that pins exactly this.
    public func lockfile(specDigest: Digest) -> Lockfile {
        Lockfile(
            airgapVersion: AirgapVersion.current, specDigest: specDigest.description,
            images: unresolvedImages.map { spec, reason in
                LockedImage(reference: spec.reference.description, platforms: spec.platforms.description, upstream: nil, bundled: nil,
                            manifests: [], size: nil, unresolved: reason)
            } + images.map { image in
                LockedImage(reference: image.spec.reference.description, platforms: image.spec.platforms.description,
                            upstream: Pin(image.upstream), bundled: Pin(image.bundled),
                            manifests: image.platformManifests.map {
                                LockedPlatformManifest(platform: $0.platform?.description ?? "unspecified", digest: $0.digest, size: $0.size)
                            },
                            size: image.totalSize, signatures: image.signatures?.map(\.locked), verifiedBy: image.keyChecks)
            },
            jars: unresolvedJars.map { coordinate, url, reason in
                LockedJar(coordinates: coordinate, url: url.withoutUserInfo.absoluteString, sha256: nil, size: nil, upstreamChecksum: nil,
                          verified: false, bundled: nil, unresolved: reason)
            } + jars.map { jar in
                LockedJar(coordinates: jar.coordinate, url: jar.url.withoutUserInfo.absoluteString, sha256: jar.digest, size: jar.size,
                          upstreamChecksum: jar.upstreamChecksum, verified: jar.upstreamChecksum != nil,
                          bundled: Pin(ArtifactManifests.jar(jar).descriptor))
            },
            charts: unresolvedCharts.map { source, reason in
                let (name, version) = source.declaredNameAndVersion
                return LockedChart(name: name, version: version, source: source.description, digest: nil, size: nil, bundled: nil, unresolved: reason)
            } + charts.map { chart in
                LockedChart(name: chart.name, version: chart.version, source: chart.source.description,
                            digest: chart.archive.digest, size: chart.archive.size, bundled: Pin(chart.entry.descriptor))
            })
    }
}

/// Resolves a spec: image references to digests (manifests only, no layers), JARs downloaded
/// and checked against their published checksums, charts packaged or fetched. With a lock, a
/// JAR the lock pins and the cache holds is taken from the cache without asking the network.
public struct BundleResolver: Sendable {
    public var pool: RegistryPool
    public var cache: BlobStore
    /// Where the blocking fetches run (`--jobs` wide). Images (and JARs) are resolved on it all
    /// at once: resolution is round trips, not bandwidth, so a thin link costs one round trip per
    /// `--jobs` images instead of one per image.
    public var workers = WorkerPool(width: WorkerPool.defaultJobs)
    /// Overrides the spec's `jars.repository` (`--maven-repo`).
    public var mavenRepository: URL?
    public var allowUnverified: Bool
    /// Record what cannot be resolved (an unreachable upstream) as unresolved instead of
    /// failing: for a lock written where upstreams are out of reach. Such a lock cannot pack.
    public var allowUnresolved: Bool = false
    /// Look for signatures, attestations, SBOMs and referrers (off with `--no-signatures`).
    public var signatures: Bool = true
    /// `--verify-key`: every image must be signed with this key (a spec's `verify.key` is
    /// checked as well).
    public var verifyKey: String?
    public var log: @Sendable (String) -> Void

    public init(pool: RegistryPool, cache: BlobStore, mavenRepository: URL? = nil, allowUnverified: Bool = false,
                log: @escaping @Sendable (String) -> Void = { _ in }) {
        self.pool = pool
        self.cache = cache
        self.mavenRepository = mavenRepository
        self.allowUnverified = allowUnverified
        self.log = log
    }

    public func resolve(_ spec: BundleSpec, pinnedBy lock: Lockfile? = nil) async throws -> ResolvedBundle {
        var bundle = ResolvedBundle(images: [], jars: [], charts: [])
        /// Runs one resolution; with `allowUnresolved`, a failure becomes the reason it is unresolved.
        func judge<T>(_ outcome: Result<T, Error>, unresolved: (String) -> Void) throws -> T? {
            do { return try outcome.get() } catch {
                guard allowUnresolved else { throw error }
                let reason = "not resolved where this lock was written: \(error)"
                log("\(reason)")
                unresolved(reason)
                return nil
            }
        }
        func attempt<T>(_ work: @escaping () throws -> T, unresolved: (String) -> Void) async throws -> T? {
            let outcome: Result<T, Error>
            do { outcome = .success(try await workers.run(work)) } catch { outcome = .failure(error) }
            return try judge(outcome, unresolved: unresolved)
        }
        let imageResolver = ImageResolver(pool: pool)
        let noReferrersAPI = RegistrySet()
        let lockedImages = Dictionary((lock?.images ?? []).map { ($0.reference, $0) }, uniquingKeysWith: { first, _ in first })
        var imageWork: [@Sendable () throws -> ResolvedImage] = []
        for image in spec.images {
            // A lock written without signatures is followed: pack carries what the lock pins.
            let lockSkipped = lockedImages[image.reference.description].map { $0.signatures == nil } ?? false
            let keys = try [image.verifyKey, verifyKey].compactMap { $0 }.map { SignaturePolicy.key(try VerificationKey(path: $0)) }
                + (image.keyless.map { [SignaturePolicy.keyless(try KeylessTrust($0))] } ?? [])
            let findSignatures = (signatures && !lockSkipped) || !keys.isEmpty
            let (pool, cache, signatures) = (self.pool, self.cache, self.signatures)
            // A server out of reach is named with the entry and the mirror that led there.
            let registry = image.reference.registry
            let via = pool.hosts.mirrors[registry].map { "the mirror for \(registry) (\($0.withoutUserInfo.absoluteString); mirrors: in the spec or --mirror)" }
            let entry = "images: \(image.reference)"
            @Sendable func resolveImage() throws -> ResolvedImage {
                var resolved = try imageResolver.resolve(image)
                guard findSignatures else { return resolved }
                let client = pool.client(for: image.reference.registry)
                let found = try SignatureFinder(client: client, noReferrersAPI: noReferrersAPI).find(for: resolved)
                if !keys.isEmpty {
                    let verifier = CosignVerifier(client: client, cache: cache)
                    resolved.keyChecks = try keys.flatMap { try verifier.verify(resolved, signatures: found, with: $0) }
                }
                // A signature that was checked is carried, so the enclave can check it again.
                resolved.signatures = (signatures && !lockSkipped) || !keys.isEmpty ? found : nil
                return resolved
            }
            imageWork.append { () throws -> ResolvedImage in
                do { return try resolveImage() } catch { throw UnreachableUpstream.wrap(error, entry: entry, via: via) }
            }
        }
        // All images at once (bounded), judged afterwards in spec order: the lock, the log and
        // the first error are the same as a one-at-a-time run would give.
        let outcomes = try await workers.map(imageWork) { work, _ in Result { try work() } }
        for (image, outcome) in zip(spec.images, outcomes) {
            if let resolved = try judge(outcome, unresolved: { bundle.unresolvedImages.append((image, $0)) }) {
                bundle.images.append(resolved)
            }
        }

        if let jarSpec = spec.jars {
            let repository = MavenRepository(baseURL: mavenRepository ?? jarSpec.repository, stack: pool.stack)
            let locked = Dictionary((lock?.jars ?? []).map { ($0.coordinates, $0) }, uniquingKeysWith: { first, _ in first })
            let (cache, allowUnverified) = (self.cache, self.allowUnverified)
            let via = "the Maven repository \(repository.baseURL.withoutUserInfo.absoluteString) (\(mavenRepository == nil ? "jars.repository in the spec" : "--maven-repo"))"
            let outcomes = try await workers.map(jarSpec.artifacts) { coordinate, _ in Result { () throws -> ResolvedJar in
                if let pinned = locked[coordinate], let digest = pinned.sha256, let size = pinned.size,
                   cache.contains(digest, size: size), let url = URL(string: pinned.url) {
                    return ResolvedJar(coordinate: coordinate, url: url, digest: digest, size: size, upstreamChecksum: pinned.upstreamChecksum)
                }
                do { return try repository.fetch(coordinate, into: cache, allowUnverified: allowUnverified) } catch {
                    throw UnreachableUpstream.wrap(error, entry: "jars: \(coordinate)", via: via)
                }
            } }
            for (coordinate, outcome) in zip(jarSpec.artifacts, outcomes) {
                if let jar = try judge(outcome, unresolved: { bundle.unresolvedJars.append((coordinate, repository.url(for: coordinate), $0)) }) {
                    bundle.jars.append(jar)
                }
            }
        }

        let chartResolver = ChartResolver(pool: pool, cache: cache, allowUnverified: allowUnverified)
        for source in spec.charts {
            let resolveChart = { () throws -> ResolvedChart in
                do { return try chartResolver.resolve(source) } catch { throw UnreachableUpstream.wrap(error, entry: "charts: \(source)", via: nil) }
            }
            if let chart = try await attempt(resolveChart, unresolved: { bundle.unresolvedCharts.append((source, $0)) }) {
                bundle.charts.append(chart)
            }
        }
        return bundle
    }
}
