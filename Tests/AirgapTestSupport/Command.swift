import Foundation

/// The outcome of a process the tests ran: what a user at a terminal would have seen.
public struct CommandResult {
    public var status: Int32
    public var stdout: String
    public var stderr: String
    /// The signal that ended the process (SIGSEGV from a stack overflow, SIGTERM from a test's
    /// timeout), or nil when it exited.
    public var signal: Int32? = nil
    /// The test stopped it after its time limit: it would have hung.
    public var timedOut = false
}

public enum TestFailure: Error, CustomStringConvertible {
    case commandFailed(String, CommandResult)
    case timedOut(String)

    public var description: String {
        switch self {
        case .commandFailed(let command, let result):
            return "\(command) exited \(result.status)\nstdout: \(result.stdout)\nstderr: \(result.stderr)"
        case .timedOut(let what):
            return "timed out waiting for \(what)"
        }
    }
}

public enum Command {
    /// Runs a program to completion, capturing its output.
    @discardableResult
    public static func run(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil, input: Data? = nil,
        directory: String? = nil, timeout: Double? = nil
    ) throws -> CommandResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable.hasPrefix("/") ? executable : "/usr/bin/env")
        process.arguments = executable.hasPrefix("/") ? arguments : [executable] + arguments
        if let environment { process.environment = environment }
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let out = Pipe(), err = Pipe(), inPipe = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = inPipe
        try process.run()
        final class Flag: @unchecked Sendable { var raised = false }
        let timedOut = Flag()
        if let timeout {
            DispatchQueue.global().asyncAfter(deadline: .now() + timeout) { [process] in
                guard process.isRunning else { return }
                timedOut.raised = true
                process.terminate()
            }
        }
        if let input { inPipe.fileHandleForWriting.write(input) }
        try? inPipe.fileHandleForWriting.close()
        // Read both pipes at once so neither fills and blocks the child.
        final class Box: @unchecked Sendable { var data = Data() }
        let errBox = Box()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            errBox.data = err.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        let errData = errBox.data
        process.waitUntilExit()
        let result = CommandResult(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                                   stderr: String(decoding: errData, as: UTF8.self),
                                   signal: process.terminationReason == .uncaughtSignal ? process.terminationStatus : nil,
                                   timedOut: timedOut.raised)
        StderrRecords.record(executable: executable, arguments: arguments, result: result)
        return result
    }

    /// Runs and throws unless the exit status is 0.
    @discardableResult
    public static func check(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) throws -> CommandResult {
        let result = try run(executable, arguments, environment: environment)
        guard result.status == 0 else { throw TestFailure.commandFailed(([executable] + arguments).joined(separator: " "), result) }
        return result
    }
}

public enum Paths {
    /// The repository root, found from this file's place in it.
    public static let repositoryRoot: String = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    /// The `airgap` binary SwiftPM built beside the test bundle.
    public static var airgapBinary: String {
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for candidate in [beside, beside.deletingLastPathComponent()] {
            let path = candidate.appendingPathComponent("airgap").path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return "\(repositoryRoot)/.build/debug/airgap"
    }

    public static func script(_ name: String) -> String { "\(repositoryRoot)/scripts/\(name)" }
    public static func fixture(_ name: String) -> String { "\(repositoryRoot)/Tests/Fixtures/\(name)" }
}

/// A directory removed when the value goes away.
public final class TemporaryDirectory {
    public let path: String

    public init(_ label: String = "airgap-test") throws {
        let base = ProcessInfo.processInfo.environment["AIRGAP_TEST_TMP"] ?? NSTemporaryDirectory()
        path = "\(base)/\(label)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    public func file(_ name: String) -> String { "\(path)/\(name)" }

    public func write(_ name: String, _ text: String) throws -> String {
        let target = file(name)
        try FileManager.default.createDirectory(atPath: URL(fileURLWithPath: target).deletingLastPathComponent().path,
                                                withIntermediateDirectories: true)
        try text.write(toFile: target, atomically: true, encoding: .utf8)
        return target
    }
}

/// What every airgap run of the suite printed on stderr, kept when `AIRGAP_STDERR_RECORDS`
/// names a folder (scripts/test.sh sets it): `ErrorAdviceTests` then checks that each flag an
/// error suggests is accepted by the command that printed it. One JSON line per run, one file
/// per test process, appended whole so parallel runs do not interleave.
public enum StderrRecords {
    public static let environmentKey = "AIRGAP_STDERR_RECORDS"

    public struct Record: Codable {
        public var arguments: [String]
        public var stderr: String

        public init(arguments: [String], stderr: String) {
            self.arguments = arguments
            self.stderr = stderr
        }
    }

    static func record(executable: String, arguments: [String], result: CommandResult) {
        guard let folder = ProcessInfo.processInfo.environment[environmentKey], !folder.isEmpty,
              URL(fileURLWithPath: executable).lastPathComponent.hasPrefix("airgap"), !result.stderr.isEmpty,
              let line = try? JSONEncoder().encode(Record(arguments: arguments, stderr: result.stderr))
        else { return }
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let file = "\(folder)/records-\(getpid()).jsonl"
        if !FileManager.default.fileExists(atPath: file) { FileManager.default.createFile(atPath: file, contents: nil) }
        guard let handle = FileHandle(forWritingAtPath: file) else { return }
        defer { try? handle.close() }
        _ = try? handle.seekToEnd()
        handle.write(line + Data("\n".utf8))
    }

    /// Every record under `folder`.
    public static func load(_ folder: String) throws -> [Record] {
        let names = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".jsonl") }.sorted()
        return try names.flatMap { name in
            try String(contentsOfFile: "\(folder)/\(name)", encoding: .utf8).split(separator: "\n").map {
                try JSONDecoder().decode(Record.self, from: Data($0.utf8))
            }
        }
    }
}

/// A run whose stderr lines were stamped as they arrived: what a CI log shows of a long run.
public struct StampedRun {
    public var status: Int32
    public var stdout: String
    /// Each stderr line with the seconds since the process started when it arrived.
    public var stderrLines: [(seconds: Double, line: String)]
    /// Seconds from start to exit.
    public var duration: Double

    public var stderr: String { stderrLines.map(\.line).joined(separator: "\n") }

    /// The longest stretch with no stderr line: from the start to the first, between lines,
    /// and from the last to the exit.
    public var longestSilence: Double {
        let stamps = [0] + stderrLines.map(\.seconds) + [duration]
        return zip(stamps, stamps.dropFirst()).map { $1 - $0 }.max() ?? duration
    }
}

extension Command {
    /// Runs a program, stamping each stderr line as it arrives (the program's stderr is a pipe,
    /// not a terminal, as under CI).
    public static func runStamped(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) throws -> StampedRun {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        final class Lines: @unchecked Sendable {
            var stamped: [(Double, String)] = []
            var stdout = Data()
        }
        let lines = Lines()
        let started = Date()
        try process.run()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            var pending = Data()
            while true {
                let chunk = err.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                let now = Date().timeIntervalSince(started)
                pending.append(chunk)
                while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    lines.stamped.append((now, String(decoding: pending[pending.startIndex..<newline], as: UTF8.self)))
                    pending = Data(pending[pending.index(after: newline)...])
                }
            }
            if !pending.isEmpty { lines.stamped.append((Date().timeIntervalSince(started), String(decoding: pending, as: UTF8.self))) }
            group.leave()
        }
        lines.stdout = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return StampedRun(status: process.terminationStatus, stdout: String(decoding: lines.stdout, as: UTF8.self),
                          stderrLines: lines.stamped.map { (seconds: $0.0, line: $0.1) }, duration: Date().timeIntervalSince(started))
    }
}
