import Foundation

/// Test images, built by `scripts/make-image.py` and pushed with skopeo (a peer we did not write).
public enum TestImages {
    /// Builds an image into an OCI layout directory and returns its top digest.
    @discardableResult
    public static func build(
        layout: String, ref: String, platforms: [String] = ["linux/amd64"], layers: Int = 3, layerSize: Int = 48 * 1024,
        seed: String = "airgap", topSeed: String? = nil, attestation: Bool = false, env: [String] = [], files: [String] = []
    ) throws -> String {
        var arguments = [Paths.script("make-image.py"), "--out", layout, "--ref", ref, "--layers", "\(layers)",
                         "--layer-size", "\(layerSize)", "--seed", seed]
        if let topSeed { arguments += ["--top-seed", topSeed] }
        for entry in env { arguments += ["--env", entry] }
        for file in files { arguments += ["--file", file] }
        for platform in platforms { arguments += ["--platform", platform] }
        if attestation { arguments.append("--attestation") }
        return try Command.check("python3", arguments).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `skopeo copy --all` from a layout into a registry, with TLS and credentials as needed.
    /// With `dockerFormat`, skopeo writes Docker schema 2 manifests and a manifest list (new
    /// digests), as Docker Hub serves many images.
    public static func push(layout: String, ref: String, to registry: RegistryServer, repository: String, credentials: String? = nil,
                            dockerFormat: Bool = false) throws {
        var arguments = ["copy", "--all", "--quiet"] + (dockerFormat ? ["--format", "v2s2"] : ["--preserve-digests"])
        if registry.tls {
            let certDirectory = registry.directory.file("skopeo-certs")
            try FileManager.default.createDirectory(atPath: certDirectory, withIntermediateDirectories: true)
            if !FileManager.default.fileExists(atPath: "\(certDirectory)/ca.crt") {
                try FileManager.default.copyItem(atPath: registry.caFile, toPath: "\(certDirectory)/ca.crt")
            }
            arguments += ["--dest-cert-dir", certDirectory]
        } else {
            arguments += ["--dest-tls-verify=false"]
        }
        if let credentials { arguments += ["--dest-creds", credentials] }
        arguments += ["oci:\(layout):\(ref)", "docker://\(registry.host)/\(repository)"]
        try Command.check("skopeo", arguments)
    }

    /// An auth file in containers' auth.json format.
    public static func authFile(in directory: TemporaryDirectory, host: String, user: String, password: String) throws -> String {
        let auth = Data("\(user):\(password)".utf8).base64EncodedString()
        return try directory.write("auth.json", #"{"auths":{"\#(host)":{"auth":"\#(auth)"}}}"#)
    }
}

/// Maven repositories and charts for the tests.
public enum TestArtifacts {
    /// Adds artifacts (with .sha1/.sha512 unless told otherwise) to a Maven layout at `root`.
    public static func publish(_ coordinates: [String], in root: String, options: [String] = []) throws {
        try Command.check("python3", [Paths.script("make-maven-repo.py"), "--root", root] + coordinates.flatMap { ["--artifact", $0] } + options)
    }

    /// A small chart directory: Chart.yaml, values.yaml, a template, a .helmignore that leaves
    /// out `*.bak`, and one such file.
    @discardableResult
    public static func chart(in directory: TemporaryDirectory, name: String = "demo", version: String = "0.1.0") throws -> String {
        _ = try directory.write("\(name)/Chart.yaml", "apiVersion: v2\nname: \(name)\nversion: \(version)\nappVersion: \"1.17.1\"\ndescription: test chart\n")
        _ = try directory.write("\(name)/values.yaml", "image:\n  repository: flink\n  tag: \"1.17.1\"\n")
        _ = try directory.write("\(name)/templates/configmap.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n")
        _ = try directory.write("\(name)/.helmignore", "*.bak\n")
        _ = try directory.write("\(name)/notes.bak", "left out\n")
        return directory.file(name)
    }
}
