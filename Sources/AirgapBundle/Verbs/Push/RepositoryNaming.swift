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

    /// The chart's libs image (the Flink image plus the connector JARs).
    public static let libsImageName = "flink-cdc-libs"

    public init(registry: String, prefix: String = "", flatten: Bool = false) {
        self.registry = registry
        self.prefix = prefix.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        self.flatten = flatten
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

    /// `HOST/PREFIX/library/flink`: what an OpenShift mirror set names.
    public func mirror(for sourceRepository: String) -> String {
        "\(registry)/\(repository(for: sourceRepository))"
    }

    /// `global.imageRegistry` of the chart: `HOST` or `HOST/PREFIX`.
    public var imageRegistry: String {
        prefix.isEmpty ? registry : "\(registry)/\(prefix)"
    }

    public var libsRepository: String { repository(for: Self.libsImageName) }
}
