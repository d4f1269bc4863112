/// Annotation keys with a meaning defined by the OCI image spec or by airgap.
public enum AnnotationKey {
    /// On `index.json` entries: the name an OCI layout knows the image by.
    public static let refName = "org.opencontainers.image.ref.name"
    /// On layers of artifacts: the file name the layer unpacks to.
    public static let title = "org.opencontainers.image.title"
    public static let created = "org.opencontainers.image.created"
    public static let version = "org.opencontainers.image.version"
    /// BuildKit marks attestation manifests in an index with this key.
    public static let dockerReferenceType = "vnd.docker.reference.type"
    /// On an index airgap narrowed to the platforms asked for: the upstream index's digest.
    public static let airgapUpstreamDigest = "io.airgap.upstream.digest"
}
