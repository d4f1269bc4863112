import AirgapBundle
import ArgumentParser
import Foundation

struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check the lock, and a bundle, chart and registry against it and against Flink; exit non-zero on findings.",
        discussion: HelpText.discussion(
            "Exit codes: 0 nothing at or above --fail-on, 1 findings, 2 the audit itself could not run. --json prints the report sorted, for pipelines.",
            examples: [
                ("The lock inside the bundle against the bundle, the chart and the registry", "airgap audit --bundle bundle.tar --chart-dir deploy/flink-cdc --registry registry.internal:5000 --ca-file ca.crt"),
                ("Only the lock and the spec, failing on warnings too", "airgap audit --lock bundle.lock --spec airgap.yaml --fail-on warning"),
                ("In a pipeline", "airgap audit --bundle bundle.tar --json > audit.json"),
            ]))

    enum Threshold: String, ExpressibleByArgument, CaseIterable { case error, warning }

    @Option(help: ArgumentHelp("The lockfile (default: the lock inside --bundle, else bundle.lock).", valueName: "PATH"))
    var lock: String?

    @Option(help: ArgumentHelp("Also check that the lock still describes this spec.", valueName: "FILE"))
    var spec: String?

    @Option(help: ArgumentHelp("Check this bundle against the lock (and read the Flink image's own lib/ from it).", valueName: "FILE"))
    var bundle: String?

    @Option(name: .customLong("chart-dir"), help: ArgumentHelp("Check the chart's image settings and files/libs against the lock.", valueName: "DIR"))
    var chartDirectory: String?

    @Option(help: ArgumentHelp("Check that every locked image and platform manifest is in this registry.", valueName: "HOST[:PORT]"))
    var registry: String?

    @Option(help: "With --registry: the path push put repositories under.")
    var prefix = ""

    @Flag(help: "With --registry: repositories were pushed with --flatten.")
    var flatten = false

    @Option(name: .customLong("fail-on"), help: "Lowest severity that fails the audit.")
    var failOn: Threshold = .error

    @OptionGroup var registryOptions: RegistryOptions

    @OptionGroup var outputOptions: OutputOptions

    func run() async throws {
        var request = AuditRequest(lockPath: lock, specPath: spec, bundlePath: bundle, chartDirectory: chartDirectory)
        let report: AuditReport
        let progress = outputOptions.reporter(for: "audit")
        defer { progress.stop() }
        do {
            if let registry {
                request.registry = try registryOptions.client(for: registry, debug: outputOptions.debug, log: outputOptions.log)
                request.naming = RepositoryNaming(registry: registry, prefix: prefix, flatten: flatten)
            }
            progress.begin("checks", bytes: 0)
            do { report = try await Auditor().audit(request) } catch { throw UnreachableUpstream.wrap(error, entry: "--registry \(registry ?? "")", via: nil) }
        } catch {
            throw CommandFailure(message: "audit could not run: \(error)", kind: "audit", exitCode: 2)
        }
        progress.complete()
        let threshold: Finding.Severity = failOn == .error ? .error : .warning
        let failed = report.worst(atLeast: threshold)
        // --quiet keeps a passing audit silent; findings that fail it are still shown.
        let say: (String) -> Void = failed && !outputOptions.json ? { print(TerminalText.escape($0)) } : outputOptions.say
        if outputOptions.json {
            try outputOptions.printJSON(report)
        } else if report.findings.isEmpty {
            say("audit: no findings (\(report.checked.joined(separator: ", ")) checked; lock: \(report.lock))")
        } else {
            let rows = report.findings.map { [$0.severity.rawValue, $0.id, $0.artifact, "\($0.message); fix: \($0.fix)"] }
            let widths = (0..<3).map { column in (rows + [["SEVERITY", "ID", "ARTIFACT", ""]]).map { $0[column].count }.max() ?? 0 }
            for row in [["SEVERITY", "ID", "ARTIFACT", "FINDING"]] + rows {
                say((0..<3).map { row[$0].padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ") + "  " + row[3])
            }
            say("audit: \(report.counts["error"] ?? 0) errors, \(report.counts["warning"] ?? 0) warnings (\(report.checked.joined(separator: ", ")) checked; lock: \(report.lock))")
        }
        if failed { throw ExitCode(1) }
    }
}
