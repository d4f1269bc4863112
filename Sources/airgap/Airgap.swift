import AirgapBundle
import ArgumentParser
import Foundation
import Manifests

/// The command-line front: argument parsing and output only. Everything a test needs to reach
/// lives in AirgapBundle.
@main
struct Airgap: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "airgap",
        abstract: "Carry a Flink CDC deployment into an air-gapped cluster as one verified OCI-layout tarball.",
        discussion: HelpText.discussion(
            "Exit codes: 0 success, 1 failure (bad bundle, registry or spec error), 2 usage error. `airgap help COMMAND` shows each command's options and examples; `man airgap` once the man page is installed (see README).",
            examples: [
                ("Connected side: pin, then pack", "airgap lock --spec airgap.yaml && airgap pack --spec airgap.yaml -o bundle.tar"),
                ("Enclave side: check, push, audit", "airgap verify bundle.tar && airgap push bundle.tar --registry registry.internal:5000 --ca-file ca.crt --chart-out deploy"),
                ("Shell completion (bash; zsh and fish likewise)", "airgap --generate-completion-script bash > /etc/bash_completion.d/airgap"),
            ]),
        version: BuildInfo.versionLine,
        subcommands: [Lock.self, Pack.self, Verify.self, Inspect.self, Push.self, Extract.self, Audit.self]
    )

    static func main() async {
        LibCrypto.initialize()
        Interrupts.install()
        let arguments = ProcessArguments.current
        // Read before parsing, so that a usage error is a JSON document too.
        let json = arguments.prefix { $0 != "--" }.contains("--json")
        do {
            var command = try parseAsRoot(arguments)
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let code as ExitCode {
            Foundation.exit(code.rawValue)
        } catch let failure as CommandFailure {
            fail(failure.message, kind: failure.kind, exitCode: failure.exitCode, json: json)
        } catch {
            switch exitCode(for: error) {
            case .success:
                print(fullMessage(for: error))
                Foundation.exit(0)
            case .validationFailure:
                // Usage errors exit 2, as getopt-style tools do.
                FileHandle.standardError.write(Data((fullMessage(for: error).split(separator: "\n", omittingEmptySubsequences: false)
                    .map { TerminalText.escape(String($0)) }.joined(separator: "\n") + "\n").utf8))
                if json { printError(message(for: error), kind: "usage", exitCode: 2) }
                Foundation.exit(2)
            default:
                fail(String(describing: error), kind: ErrorReport.kind(of: error), exitCode: 1, json: json)
            }
        }
    }

    /// One line on stderr, escaped (the message may quote a server or a file from a bundle);
    /// with `--json` the same message as the one document on stdout.
    static func fail(_ message: String, kind: String, exitCode: Int32, json: Bool) -> Never {
        FileHandle.standardError.write(Data("airgap: error: \(TerminalText.escape(message))\n".utf8))
        if json { printError(message, kind: kind, exitCode: exitCode) }
        Foundation.exit(exitCode)
    }

    static func printError(_ message: String, kind: String, exitCode: Int32) {
        let report = ErrorReport(message: message.trimmingCharacters(in: .whitespacesAndNewlines), kind: kind, exitCode: exitCode)
        if let data = try? JSONDocument(report).data() { FileHandle.standardOutput.write(data) }
    }
}

/// A failure a command reports itself, with its own kind and exit status (audit: 2 when the
/// audit could not run, as distinct from 1 for findings).
struct CommandFailure: Error {
    var message: String
    var kind: String
    var exitCode: Int32
}
