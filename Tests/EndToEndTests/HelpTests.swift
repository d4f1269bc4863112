import AirgapTestSupport
import Foundation
import XCTest

/// `--help` answers "how do I…" with examples that work, and the completion scripts are made
/// from the same commands, so they know the flags the commands accept.
final class HelpTests: XCTestCase {
    func testEveryCommandsHelpShowsExamplesOfItself() throws {
        let accepted = try AcceptedFlags()
        for command in accepted.commands.subtracting(["help"]).sorted() {
            let help = try AirgapRunner().check(["help", command]).stdout
            let examples = Self.examples(in: help)
            XCTAssertFalse(examples.isEmpty, "airgap help \(command) shows no example:\n\(help)")
            XCTAssertTrue(examples.contains { $0.contains("airgap \(command) ") }, "no example runs airgap \(command): \(examples)")
        }
    }

    func testPushHelpShowsExamplesWithTheRegistryOptions() throws {
        let help = try AirgapRunner().check(["help", "push"]).stdout
        XCTAssertTrue(help.contains("EXAMPLES:"), help)
        let examples = Self.examples(in: help).joined(separator: "\n")
        for flag in ["--registry", "--ca-file", "--username", "--password-stdin", "--dry-run", "--debug"] {
            XCTAssertTrue(examples.contains(flag), "push's examples never show \(flag):\n\(examples)")
        }
        let section = help.components(separatedBy: "EXAMPLES:").last?.components(separatedBy: "USAGE:").first ?? ""
        XCTAssertFalse(section.split(separator: "\n").contains { $0.count > 80 }, "example lines wider than 80 columns:\n\(section)")
    }

    func testEveryFlagInAnExampleIsAcceptedByItsCommand() throws {
        let accepted = try AcceptedFlags()
        var wrong: [String] = []
        for command in [""] + accepted.commands.subtracting(["help"]).sorted() {
            let help = try AirgapRunner().check(command.isEmpty ? ["--help"] : ["help", command]).stdout
            for example in Self.examples(in: help) {
                for (target, flag) in AdvisedFlags.find(in: example, printedBy: command, commands: accepted.commands)
                where !accepted.accepts(target, flag) {
                    wrong.append("airgap \(target) has no \(flag): \(example)")
                }
            }
        }
        XCTAssertEqual(wrong, [])
    }

    func testCompletionScriptsKnowTheSharedRegistryFlags() throws {
        for shell in ["bash", "zsh", "fish"] {
            let script = try AirgapRunner().check(["--generate-completion-script", shell]).stdout
            // fish names long options without their dashes (`-l authfile`).
            for word in ["push", "audit", "authfile", "cert-dir", "tls-verify", "debug"] {
                XCTAssertTrue(script.contains(word), "the \(shell) completion script lacks \(word)")
            }
        }
    }

    /// The commands under EXAMPLES:, continuation lines joined.
    static func examples(in help: String) -> [String] {
        guard let start = help.range(of: "EXAMPLES:\n") else { return [] }
        var commands: [String] = []
        var current = ""
        for line in help[start.upperBound...].split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("USAGE:") || line.hasPrefix("OPTIONS:") { break }
            let text = line.trimmingCharacters(in: .whitespaces)
            if text.isEmpty || text.hasPrefix("#") { continue }
            current += (current.isEmpty ? "" : " ") + (text.hasSuffix(" \\") ? String(text.dropLast(2)) : text)
            if !text.hasSuffix(" \\") {
                commands.append(current)
                current = ""
            }
        }
        return commands
    }
}
