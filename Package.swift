// swift-tools-version:5.10
import PackageDescription

// Types (Manifests), storage (OCILayout) and transport + verbs (AirgapBundle) are kept apart the
// way go-containerregistry keeps pkg/v1, pkg/v1/layout and pkg/v1/remote apart. Each C library is
// reached through one system-library target and wrapped once in Swift.
let package = Package(
    name: "airgap",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "airgap", targets: ["airgap"]),
        .library(name: "AirgapBundle", targets: ["AirgapBundle"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
    ],
    targets: [
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "CArchive", pkgConfig: "libarchive", providers: [.apt(["libarchive-dev"])]),
        .systemLibrary(name: "CCrypto", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        .target(name: "Manifests", dependencies: ["CCrypto"]),
        // libc calls Swift's Glibc module leaves out (sync_file_range); header only.
        .systemLibrary(name: "CSystem"),
        .target(name: "OCILayout", dependencies: ["Manifests", "CArchive", "CSystem"]),
        .target(
            name: "AirgapBundle",
            dependencies: ["Manifests", "OCILayout", "CCurl", "CSystem", .product(name: "Yams", package: "Yams")]
        ),
        // The portable binary's own process image: the section scripts/release.sh stamps with the
        // version and commit, argv kept without /proc, definitions that hold glibc at 2.34.
        .target(name: "CProcess"),
        .executableTarget(
            name: "airgap",
            dependencies: ["AirgapBundle", "CProcess",
                           .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .testTarget(name: "ManifestsTests", dependencies: ["Manifests"]),
        .testTarget(name: "OCILayoutTests", dependencies: ["OCILayout"]),
        // Starts real registries and runs skopeo; shared by the test targets that need them.
        .target(name: "AirgapTestSupport", path: "Tests/AirgapTestSupport"),
        .testTarget(name: "AirgapBundleTests", dependencies: ["AirgapBundle", "OCILayout", "Manifests", "AirgapTestSupport"]),
        // Drives the built `airgap` binary as a user would, against real registries.
        .testTarget(name: "EndToEndTests", dependencies: ["airgap", "AirgapTestSupport", "Manifests"]),
        // Starts the chart's pods on podman + runc from images `airgap push` put into a registry.
        .testTarget(name: "FlinkRuntimeTests", dependencies: ["airgap", "AirgapTestSupport"]),
    ]
)
