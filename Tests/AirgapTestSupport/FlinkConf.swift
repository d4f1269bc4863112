import Foundation

/// A rendered Flink configuration file read the way Flink reads it (`Tests/Fixtures/flink_conf.py`):
/// `flink-conf.yaml` by Flink 1.17's line parser, `config.yaml` as standard YAML.
public struct FlinkConf {
    /// Key to value exactly as Flink would hold it (quotes included, if any were written).
    public var entries: [String: String]
    /// Line numbers Flink would warn about and skip.
    public var skipped: [Int]

    public static func read(_ text: String, fileName: String) throws -> FlinkConf {
        let mode = fileName == "config.yaml" ? "yaml" : "legacy"
        let result = try Command.run(Helm.python, [Paths.fixture("flink_conf.py"), mode], input: Data(text.utf8))
        guard result.status == 0, let output = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any] else {
            throw TestFailure.commandFailed("flink_conf.py \(mode)", result)
        }
        let raw = output["entries"] as? [String: Any] ?? [:]
        return FlinkConf(entries: raw.mapValues { "\($0)" }, skipped: output["skipped"] as? [Int] ?? [])
    }
}
