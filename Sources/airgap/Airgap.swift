import AirgapBundle
import ArgumentParser
import Foundation

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
        Interrupts.install()
        do {
            var command = try parseAsRoot(ProcessArguments.current)
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let code as ExitCode {
            Foundation.exit(code.rawValue)
        } catch {
            switch exitCode(for: error) {
            case .success:
                print(fullMessage(for: error))
                Foundation.exit(0)
            case .validationFailure:
                // Usage errors exit 2, as getopt-style tools do.
                FileHandle.standardError.write(Data((fullMessage(for: error).split(separator: "\n", omittingEmptySubsequences: false)
                    .map { TerminalText.escape(String($0)) }.joined(separator: "\n") + "\n").utf8))
                Foundation.exit(2)
            default:
                // One line, escaped: the message may quote a server or a file from a bundle.
                let text = TerminalText.escape(String(describing: error))
                FileHandle.standardError.write(Data("airgap: error: \(text)\n".utf8))
                Foundation.exit(1)
            }
        }
    }
}
