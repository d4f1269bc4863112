import Foundation
import Manifests
import OCILayout

/// Everything a spec resolved to: images down to manifests, JARs and charts into the cache.
public struct ResolvedBundle: Sendable {
    public var images: [ResolvedImage]
    public var jars: [ResolvedJar]
    public var charts: [ResolvedChart]

    public var entries: [BundleEntry] {
        images.map(\.entry) + jars.map(ArtifactManifests.jar) + charts.map(\.entry)
    }

    /// The lock that pins exactly this.
    public func lockfile(specDigest: Digest) -> Lockfile {
        Lockfile(
            airgapVersion: AirgapVersion.current, specDigest: specDigest.description,
            images: images.map { image in
                LockedImage(reference: image.spec.reference.description, platforms: image.spec.platforms.description,
                            upstream: Pin(image.upstream), bundled: Pin(image.bundled),
                            manifests: image.platformManifests.map {
                                LockedPlatformManifest(platform: $0.platform?.description ?? "unspecified", digest: $0.digest, size: $0.size)
                            },
                            size: image.totalSize)
            },
            jars: jars.map { jar in
                LockedJar(coordinates: jar.coordinate, url: jar.url.absoluteString, sha256: jar.digest, size: jar.size,
                          upstreamChecksum: jar.upstreamChecksum, verified: jar.upstreamChecksum != nil,
                          bundled: Pin(ArtifactManifests.jar(jar).descriptor))
            },
            charts: charts.map { chart in
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
    public var transport: HTTPTransport
    public var retry: RetryPolicy
    /// Overrides the spec's `jars.repository` (`--maven-repo`).
    public var mavenRepository: URL?
    public var allowUnverified: Bool
    public var log: @Sendable (String) -> Void

    public init(pool: RegistryPool, cache: BlobStore, transport: HTTPTransport, retry: RetryPolicy = RetryPolicy(),
                mavenRepository: URL? = nil, allowUnverified: Bool = false, log: @escaping @Sendable (String) -> Void = { _ in }) {
        self.pool = pool
        self.cache = cache
        self.transport = transport
        self.retry = retry
        self.mavenRepository = mavenRepository
        self.allowUnverified = allowUnverified
        self.log = log
    }

    public func resolve(_ spec: BundleSpec, pinnedBy lock: Lockfile? = nil) async throws -> ResolvedBundle {
        let imageResolver = ImageResolver(pool: pool)
        var images: [ResolvedImage] = []
        for image in spec.images {
            images.append(try await offload { try imageResolver.resolve(image) })
        }

        var jars: [ResolvedJar] = []
        if let jarSpec = spec.jars {
            let repository = MavenRepository(baseURL: mavenRepository ?? jarSpec.repository, transport: transport, retry: retry, onRetry: log)
            let locked = Dictionary((lock?.jars ?? []).map { ($0.coordinates, $0) }, uniquingKeysWith: { first, _ in first })
            for coordinate in jarSpec.artifacts {
                if let pinned = locked[coordinate], let digest = pinned.sha256, let size = pinned.size,
                   cache.contains(digest, size: size), let url = URL(string: pinned.url) {
                    jars.append(ResolvedJar(coordinate: coordinate, url: url, digest: digest, size: size, upstreamChecksum: pinned.upstreamChecksum))
                    continue
                }
                let (cache, allowUnverified) = (self.cache, self.allowUnverified)
                jars.append(try await offload { try repository.fetch(coordinate, into: cache, allowUnverified: allowUnverified) })
            }
        }

        let chartResolver = ChartResolver(pool: pool, transport: transport, cache: cache, retry: retry, allowUnverified: allowUnverified)
        var charts: [ResolvedChart] = []
        for source in spec.charts {
            charts.append(try await offload { try chartResolver.resolve(source) })
        }
        return ResolvedBundle(images: images, jars: jars, charts: charts)
    }
}
