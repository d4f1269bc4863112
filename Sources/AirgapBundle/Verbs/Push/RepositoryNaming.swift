import Foundation
import Manifests

/// Where a bundle's repositories land in the internal registry: one rule, shared by push, the
/// libs image, `values-airgap.yaml`, the OpenShift mirror sets and `audit --registry`, so they
/// can never disagree about a name.
///
/// `docker.io/library/flink` → `PREFIX/library/flink`, or `PREFIX/library-flink` flattened (one
/// path component under the prefix, for registries such as OpenShift's that allow only
/// `<project>/<name>`).
public struct RepositoryNaming: Sendable, Equatable {
    /// `HOST[:PORT]` of the internal registry.
    public var registry: String
    /// Path prepended to every repository (`apps/flink`), or empty.
    public var prefix: String
    public var flatten: Bool
    /// Where pods and nodes pull from, when that is not where push wrote: `HOST[:PORT][/PATH]`,
    /// e.g. OpenShift's in-cluster `image-registry.openshift-image-registry.svc:5000/PROJECT`
    /// while push went through the external route. Its PATH, when given, stands for the prefix.
    public var pullRegistry: String?

    /// The chart's libs image (the Flink image plus the connector JARs).
    public static let libsImageName = "flink-cdc-libs"

    public init(registry: String, prefix: String = "", flatten: Bool = false, pullRegistry: String? = nil) {
        self.registry = registry
        self.prefix = prefix.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        self.flatten = flatten
        self.pullRegistry = pullRegistry?.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
    }

    /// The path under the prefix: `library/flink`, or `library-flink` flattened. What
    /// `values-airgap.yaml` writes under `global.imageRegistry`.
    public func path(for sourceRepository: String) -> String {
        flatten ? sourceRepository.replacingOccurrences(of: "/", with: "-") : sourceRepository
    }

    /// The repository in the internal registry: `PREFIX/library/flink`.
    public func repository(for sourceRepository: String) -> String {
        prefix.isEmpty ? path(for: sourceRepository) : "\(prefix)/\(path(for: sourceRepository))"
    }

    /// Where pods pull `sourceRepository` from: `PULL/library/flink` (with `--pull-registry`),
    /// else `HOST/PREFIX/library/flink`. What the OpenShift mirror sets name.
    public func mirror(for sourceRepository: String) -> String {
        "\(imageRegistry)/\(path(for: sourceRepository))"
    }

    /// `global.imageRegistry` of the chart, where pods pull from: `--pull-registry` as given when
    /// it has a path, else its host (or the registry pushed to) followed by the prefix.
    public var imageRegistry: String {
        let host = pullRegistry ?? registry
        if let pullRegistry, pullRegistry.contains("/") { return pullRegistry }
        return prefix.isEmpty ? host : "\(host)/\(prefix)"
    }

    public var libsRepository: String { repository(for: Self.libsImageName) }
}
