import Foundation

/// A fresh minimal Debian 12 root filesystem (`scripts/enclave-rootfs.sh`: minbase plus only
/// libcurl4, libarchive13 and libssl3) unpacked for one test and removed with it: an enclave
/// host that has never seen a Swift toolchain, a source checkout or a lockfile. Commands run in
/// it with `chroot`, sharing the host's network, so a registry on 127.0.0.1 is reachable, with
/// /proc mounted as on any host (libdispatch's thread-pool monitor reads it) inside a mount and
/// PID namespace of the command's own (`unshare --mount-proc`): the mount ends with the command,
/// so nothing is left mounted even if the test dies.
public final class EnclaveRoot {
    public let directory: TemporaryDirectory
    public var root: String { directory.file("root") }

    /// Nil with the reason when this machine cannot host one (not root, or no release binary).
    public static func unavailableReason() -> String? {
        if getuid() != 0 { return "chroot needs root" }
        if releaseBinary == nil { return "no release binary: run scripts/release.sh and set AIRGAP_RELEASE_BINARY (scripts/test.sh does)" }
        return nil
    }

    /// `dist/airgap-linux-ARCH`, as scripts/test.sh names it in AIRGAP_RELEASE_BINARY.
    public static var releaseBinary: String? {
        guard let path = ProcessInfo.processInfo.environment["AIRGAP_RELEASE_BINARY"], !path.isEmpty else { return nil }
        return path.hasPrefix("/") ? path : "\(Paths.repositoryRoot)/\(path)"
    }

    public init() throws {
        let tarball = try Command.check(Paths.script("enclave-rootfs.sh"), []).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        directory = try TemporaryDirectory("enclave")
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        try Command.check("tar", ["-C", root, "--numeric-owner", "-xf", tarball])
    }

    /// Copies a host file to `path` inside the root, keeping its mode.
    public func install(_ file: String, at path: String) throws {
        let target = root + path
        try FileManager.default.createDirectory(atPath: URL(fileURLWithPath: target).deletingLastPathComponent().path, withIntermediateDirectories: true)
        try Command.check("cp", ["-p", file, target])
    }

    /// Runs `program` inside the root with a clean environment, in `directory` (inside the root).
    @discardableResult
    public func run(_ program: String, _ arguments: [String], directory: String = "/root", input: Data? = nil) throws -> CommandResult {
        let environment = ["HOME": "/root", "PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", "LANG": "C.UTF-8"]
        return try Command.run("/usr/bin/unshare", ["--fork", "--pid", "--mount", "--propagation", "private", "--mount-proc=\(root)/proc",
                                                    "/usr/sbin/chroot", root, "/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", directory, program] + arguments,
                               environment: environment, input: input)
    }

    /// Runs and throws with the output unless it exited 0.
    @discardableResult
    public func check(_ program: String, _ arguments: [String], directory: String = "/root", input: Data? = nil) throws -> CommandResult {
        let result = try run(program, arguments, directory: directory, input: input)
        guard result.status == 0 else { throw TestFailure.commandFailed("(in the enclave root) \(program) " + arguments.joined(separator: " "), result) }
        return result
    }

    /// Whether `path` (inside the root) exists.
    public func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: root + path) }
}
