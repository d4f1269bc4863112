import AirgapBundle
import CProcess

/// What `airgap --version` prints: the version, and the commit scripts/release.sh stamped into
/// the binary after linking. A binary nobody stamped says it is a development build, so a
/// bug report never pins a commit that was not the one built.
enum BuildInfo {
    static var versionLine: String {
        let stamp = String(cString: airgap_build_info())
        if stamp.isEmpty {
            return "\(AirgapVersion.current) (development build, not stamped by scripts/release.sh)"
        }
        return stamp
    }
}

/// The command-line arguments (without the program name), taken from what the C runtime passed
/// rather than from /proc, which a chroot or sandbox may not have mounted.
enum ProcessArguments {
    static var current: [String] {
        let argv = airgap_argv()
        let count = Int(airgap_argc())
        guard let argv, count > 0 else { return Array(CommandLine.arguments.dropFirst()) }
        return (1..<count).map { argv[$0].map { String(cString: $0) } ?? "" }
    }
}
