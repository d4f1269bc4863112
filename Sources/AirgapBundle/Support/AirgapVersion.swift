/// The version airgap reports in `--version`, its User-Agent and the lockfiles it writes.
public enum AirgapVersion {
    public static let current = "0.1.0"
}
