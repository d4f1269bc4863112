import AirgapTestSupport
import Foundation
import XCTest

/// Every flag an error or warning tells the operator to use exists on the command that printed
/// it: advice naming `--insecure-registry` to someone running `audit` (which had no such flag)
/// is how the vocabularies drifted apart before. The messages checked are the ones the whole
/// suite provoked (scripts/test.sh records them under `AIRGAP_STDERR_RECORDS` and runs this
/// test again over them); run alone, the test provokes a set of its own.
final class ErrorAdviceTests: XCTestCase {
    /// Set by scripts/test.sh for the run after the suite: the folder the suite's runs wrote.
    static let recordsKey = "AIRGAP_CHECK_STDERR_RECORDS"

    func testEveryFlagAnErrorSuggestsIsAcceptedByTheCommandThatPrintedIt() throws {
        let records: [StderrRecords.Record]
        if let folder = ProcessInfo.processInfo.environment[Self.recordsKey], !folder.isEmpty {
            records = try StderrRecords.load(folder)
            // The suite provokes hundreds of failures; a handful means the recording broke.
            XCTAssertGreaterThan(records.count, 100, "too few records in \(folder): is Command.run still recording?")
        } else {
            records = try provokeErrors()
        }
        let accepted = try AcceptedFlags()
        var checked = 0
        var wrong: Set<String> = []
        for record in records {
            let command = accepted.subcommand(of: record.arguments)
            for line in record.stderr.split(separator: "\n").map(String.init) where Self.isAdvice(line) {
                for (target, flag) in AdvisedFlags.find(in: line, printedBy: command, commands: accepted.commands) {
                    checked += 1
                    if !accepted.accepts(target, flag) {
                        wrong.insert("airgap \(target) has no \(flag), yet `airgap \(record.arguments.prefix(1).joined())` printed: \(line)")
                    }
                }
            }
        }
        XCTAssertGreaterThan(checked, 10, "no advice found to check in \(records.count) records")
        XCTAssertEqual(wrong.sorted(), [], "\n" + wrong.sorted().joined(separator: "\n"))
    }

    func testTheFlagFinderAttributesFlagsToTheirTool() {
        let commands: Set<String> = ["push", "audit", "pack"]
        let line = "airgap: error: r: TLS failed (x); trust its CA with --ca-file FILE, --cert-dir DIR; log in (`podman login --authfile F R`, `docker login`) or pass --authfile FILE; then `airgap audit --bundle b.tar --registry r`"
        let found = AdvisedFlags.find(in: line, printedBy: "push", commands: commands)
        XCTAssertEqual(found.map { "\($0.command) \($0.flag)" },
                       ["push --ca-file", "push --cert-dir", "push --authfile", "audit --bundle", "audit --registry"])
    }

    /// Lines that carry advice: airgap's own errors and warnings, and ArgumentParser's usage
    /// errors except the one that quotes the operator's own unknown flag back.
    static func isAdvice(_ line: String) -> Bool {
        if line.hasPrefix("Error: ") { return !line.contains("Unknown option") && !line.contains("Unexpected argument") }
        return line.hasPrefix("airgap: ")
    }

    /// Failures provoked without a registry: missing and broken inputs, a TLS client speaking
    /// to a plain-HTTP server, a closed port, paths that cannot be written.
    private func provokeErrors() throws -> [StderrRecords.Record] {
        let work = try TemporaryDirectory("advice")
        let plain = try StaticHTTPServer(directory: work.path)
        let closed = try freeLoopbackPort()
        let host = "127.0.0.1:\(plain.port)"
        _ = try work.write("notpem.crt", "not a certificate\n")
        _ = try work.write("broken.json", "{\"auths\": {\n  \"x\": }\n")
        _ = try work.write("bad.lock", "{\n  \"lockVersion\": \"one\"\n}\n")
        _ = try work.write("notatar.tar", "hello\n")
        let overTLS = try work.write("tls.yaml", "images:\n  - ref: \(host)/library/busybox:1\n")
        let refused = try work.write("refused.yaml", "images:\n  - ref: docker.io/library/busybox:1\nmirrors:\n  docker.io: http://127.0.0.1:\(closed)\n")
        let runs: [[String]] = [
            ["lock", "--spec", overTLS, "--lock", work.file("a.lock"), "--retry-times", "1"],
            ["lock", "--spec", refused, "--lock", work.file("b.lock"), "--retry-times", "1"],
            ["pack", "--spec", refused, "-o", work.path],
            ["pack", "--spec", refused, "-o", work.file("missing/bundle.tar")],
            ["pack", "--spec", refused, "-o", work.file("c.tar"), "--authfile", work.file("nope.json")],
            ["push", work.file("notatar.tar"), "--registry", host, "--retry-times", "1"],
            ["push", work.file("notatar.tar"), "--registry", host, "--ca-file", work.file("notpem.crt")],
            ["push", work.file("notatar.tar"), "--registry", host, "--authfile", work.file("broken.json")],
            ["push", work.file("notatar.tar"), "--registry", host, "--username", "u"],
            ["audit", "--registry", host, "--lock", work.file("bad.lock"), "--retry-times", "1"],
            ["audit", "--bundle", work.file("notatar.tar"), "--registry", host, "--authfile", work.file("nope.json")],
            ["verify", work.file("notatar.tar"), "--lock", work.file("bad.lock")],
            ["inspect", work.file("notatar.tar")],
            ["extract", work.file("notatar.tar"), "x", "-o", work.file("out")],
        ]
        let airgap = try AirgapRunner()
        return try runs.map { arguments in
            let result = try airgap.run(arguments, timeout: 120)
            XCTAssertNotEqual(result.status, 0, "airgap \(arguments.joined(separator: " ")) was meant to fail")
            return StderrRecords.Record(arguments: arguments, stderr: result.stderr)
        }
    }
}

/// The flags each subcommand accepts, hidden aliases included, as `--experimental-dump-help`
/// (ArgumentParser's own description of the parser) lists them.
struct AcceptedFlags {
    private var flags: [String: Set<String>] = [:]
    var commands: Set<String> { Set(flags.keys).subtracting([""]) }

    init() throws {
        let dump = try Command.check(AirgapRunner.binary, ["--experimental-dump-help"]).stdout
        guard let root = (try JSONSerialization.jsonObject(with: Data(dump.utf8)) as? [String: Any])?["command"] as? [String: Any] else {
            throw TestFailure.timedOut("a JSON description from airgap --experimental-dump-help (got: \(dump.prefix(200)))")
        }
        func names(_ command: [String: Any]) -> Set<String> {
            var found: Set<String> = ["--help", "-h"]
            for argument in command["arguments"] as? [[String: Any]] ?? [] {
                for name in argument["names"] as? [[String: Any]] ?? [] {
                    guard let text = name["name"] as? String else { continue }
                    found.insert((name["kind"] as? String) == "short" ? "-\(text)" : "--\(text)")
                }
            }
            return found
        }
        // ArgumentParser's own root options, which the dump does not list.
        flags[""] = names(root).union(["--generate-completion-script", "--experimental-dump-help"])
        for sub in root["subcommands"] as? [[String: Any]] ?? [] {
            if let name = sub["commandName"] as? String { flags[name] = names(sub) }
        }
    }

    /// The subcommand an argument list runs ("" for the root).
    func subcommand(of arguments: [String]) -> String {
        arguments.first { flags[$0] != nil && !$0.isEmpty } ?? ""
    }

    func accepts(_ command: String, _ flag: String) -> Bool { flags[command]?.contains(flag) ?? false }
}

/// The `--flags` a line of advice names, each with the airgap command it belongs to: the one
/// that printed it, or the one a quoted `airgap COMMAND …` names. Flags in a quoted command of
/// another tool (`podman login --authfile`, `openssl x509 -inform`) are that tool's business.
enum AdvisedFlags {
    static let otherTools: Set<String> = ["skopeo", "podman", "docker", "helm", "oc", "kubectl", "openssl", "cosign", "tar", "curl",
                                          "sha256sum", "mkdir", "crane", "oras", "umoci", "cat", "gzip", "zstd"]

    static func find(in line: String, printedBy printer: String, commands: Set<String>) -> [(command: String, flag: String)] {
        var found: [(String, String)] = []
        var owner: String? = printer
        var afterAirgap = false
        let words = line.split(separator: " ").map(String.init)
        for word in words {
            let bare = word.trimmingCharacters(in: CharacterSet(charactersIn: "`'\"(),;:"))
            if afterAirgap {
                afterAirgap = false
                if commands.contains(bare) { owner = bare; continue }
            }
            if bare == "airgap", word != "airgap:" { afterAirgap = true; owner = "" }
            else if otherTools.contains(bare), word.hasPrefix("`") || word.hasPrefix("(`") || word.hasPrefix("(") || words.first == word {
                owner = nil
            }
            if let range = bare.range(of: #"^--[a-z][a-z0-9-]*"#, options: .regularExpression), let current = owner {
                found.append((current, String(bare[range])))
            }
            // A quoted command ends at its closing backtick; plain advice resumes at a clause break.
            if word.hasSuffix("`") || word.hasSuffix("`)") || word.hasSuffix("`,") || word.hasSuffix("`;") || word.hasSuffix(";") {
                owner = printer
            }
        }
        return found
    }
}
