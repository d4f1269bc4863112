@testable import AirgapBundle
import AirgapTestSupport
import Foundation
import Manifests
import OCILayout
import XCTest

/// A seeded mutation fuzzer over every parser that reads outside input: the spec (YAML),
/// Chart.yaml and a Helm index (YAML), the lock, manifests and indexes (JSON), and tar headers
/// (libarchive). Inputs are real documents mutated byte-wise and structurally (nesting bursts,
/// aliases, anchors, quotes, huge numbers). Whatever comes in, a parser must return or throw:
/// a crash kills this test process, an input that takes too long trips the watchdog. Same seed,
/// same inputs: a failure is reproducible. `AIRGAP_FUZZ_INPUTS` runs more.
final class ParserFuzzTests: XCTestCase {
    static let defaultInputs = 100_000

    func testNoInputCrashesOrHangsAParser() throws {
        let total = ProcessInfo.processInfo.environment["AIRGAP_FUZZ_INPUTS"].flatMap(Int.init) ?? Self.defaultInputs
        let work = try TemporaryDirectory("fuzz")
        let targets = try Self.targets(work: work)
        // Tar inputs go through a file and libarchive's reader (8 MiB of buffers each): fewer of them.
        let schedule = targets.flatMap { Array(repeating: $0, count: $0.weight) }
        var random = SplitMix64(seed: 0x41_49_52_47_41_50)
        let watchdog = Watchdog(limit: 20)
        var executed = 0, rejected = 0
        var slowest = 0.0
        var timeByTarget: [String: Double] = [:]
        let started = Date()
        for index in 0..<total {
            let target = schedule[index % schedule.count]
            let seed = target.seeds[Int(random.next() % UInt64(target.seeds.count))]
            let input = Mutator.mutate(seed, others: target.seeds, random: &random)
            let began = Date()
            watchdog.arm(target.name, input)
            if (try? target.parse(input)) == nil { rejected += 1 }
            watchdog.disarm()
            let took = Date().timeIntervalSince(began)
            slowest = max(slowest, took)
            timeByTarget[target.name, default: 0] += took
            executed += 1
        }
        watchdog.stop()
        print("fuzz: \(executed) inputs over \(targets.map(\.name).joined(separator: ", ")) in \(String(format: "%.1f", Date().timeIntervalSince(started)))s, \(rejected) rejected, slowest \(String(format: "%.3f", slowest))s, no crash, no hang (seconds per parser: \(timeByTarget.sorted { $0.key < $1.key }.map { "\($0.key) \(String(format: "%.1f", $0.value))" }.joined(separator: ", ")))")
        XCTAssertGreaterThanOrEqual(executed, total)
        XCTAssertLessThan(slowest, 20)
    }

    struct Target {
        var name: String
        var weight = 3
        var seeds: [Data]
        var parse: (Data) throws -> Void
    }

    static func targets(work: TemporaryDirectory) throws -> [Target] {
        let spec = """
        images:
          - ref: docker.io/library/flink:1.17.1
            platforms: [linux/amd64, linux/arm64]
          - busybox:1
        mirrors:
          docker.io: http://127.0.0.1:5000
        jars:
          repository: https://repo.maven.apache.org/maven2
          artifacts:
            - com.ververica:flink-sql-connector-sqlserver-cdc:2.4.2
        charts:
          - path: charts/flink-cdc
          - {repo: "https://charts.example/stable", name: flink-cdc, version: 0.1.0}
          - {oci: "oci://registry.example/charts/flink-cdc", version: 0.1.0}
        """
        let anchors = "base: &b {ref: flink}\nimages: [*b, {<<: *b, platforms: all}]\n"
        let chart = "apiVersion: v2\nname: flink-cdc\nversion: 0.1.0-rc.1+build.5\nappVersion: \"1.17.1\"\ndependencies:\n  - name: x\n    version: 1.0.0\n"
        let helmIndex = "apiVersion: v1\nentries:\n  flink-cdc:\n  - name: flink-cdc\n    version: 0.1.0\n    digest: abc\n    urls: [flink-cdc-0.1.0.tgz]\n"
        let lock = FileManager.default.contents(atPath: "\(Paths.repositoryRoot)/bundle.lock") ?? Data("{}".utf8)
        let descriptor = #"{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:\#(String(repeating: "a", count: 64))","size":7,"platform":{"os":"linux","architecture":"arm64","variant":"v8"},"annotations":{"org.opencontainers.image.ref.name":"x"}}"#
        let manifest = #"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":\#(descriptor),"layers":[\#(descriptor),\#(descriptor)],"subject":\#(descriptor)}"#
        let index = #"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[\#(descriptor),\#(descriptor)],"annotations":{"a":"b"}}"#
        let tar = try tarSeed(work: work)
        let tarPath = work.file("input.tar")

        return [
            Target(name: "spec", seeds: [spec, anchors].map { Data($0.utf8) }) { data in
                _ = try BundleSpec.parse(String(decoding: data, as: UTF8.self), path: "airgap.yaml")
            },
            Target(name: "Chart.yaml", seeds: [Data(chart.utf8)]) { data in
                _ = try ChartPackager.metadata(fromChartYAML: data, source: "Chart.yaml")
            },
            Target(name: "index.yaml", seeds: [Data(helmIndex.utf8)]) { data in
                try YAMLInput.check(String(decoding: data, as: UTF8.self), source: "index.yaml")
            },
            Target(name: "lock", seeds: [lock]) { data in
                _ = try Lockfile.decode(data, path: "bundle.lock")
            },
            Target(name: "manifest", seeds: [Data(manifest.utf8)]) { data in
                let document = try ManifestDocument(decoding: data, mediaType: MediaType.ociManifest)
                _ = document.children.map { $0.platform?.description }
            },
            Target(name: "index", seeds: [Data(index.utf8)]) { data in
                _ = try ManifestDocument(decoding: data, mediaType: nil).children
            },
            Target(name: "tar header", weight: 1, seeds: [tar]) { data in
                try data.write(to: URL(fileURLWithPath: tarPath))
                let reader = try TarReader(path: tarPath)
                var entries = 0
                while let header = try reader.nextEntry(), entries < 64 {
                    _ = LayoutPath(entryName: header.name)
                    try reader.readData { _ in }
                    entries += 1
                }
            },
        ]
    }

    /// A small bundle-shaped tar, as airgap writes them.
    static func tarSeed(work: TemporaryDirectory) throws -> Data {
        let store = try BlobStore(root: work.file("store"))
        let digest = try store.put(Data(#"{"schemaVersion":2}"#.utf8))
        let entry = Descriptor(mediaType: MediaType.ociManifest, digest: digest, size: 19, annotations: [AnnotationKey.refName: "x:1"])
        _ = try LayoutArchiveWriter.write(LayoutContents(entries: [entry], blobs: [digest: 19]), from: store, to: work.file("seed.tar"))
        return try Data(contentsOf: URL(fileURLWithPath: work.file("seed.tar")))
    }
}

/// Deterministic random numbers (SplitMix64).
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ bound: Int) -> Int { bound <= 1 ? 0 : Int(next() % UInt64(bound)) }
}

/// Byte-wise and structural mutations, one to four per input.
enum Mutator {
    static let tokens: [String] = [
        "[", "]", "{", "}", "\"", "'", ":", ": ", "- ", "? ", "*a", "&a ", "<<: *a", "!!binary ", "!!python/object ", "#", "|", ">-",
        "\n", "\r\n", "\t", "\0", "\u{1B}[2J", "%YAML 1.1\n", "---\n", "...\n", "\\u0000", "\\ud800", "1e999999", "-0",
        "99999999999999999999999", "null", "true", ",", "sha256:", "../", "\u{FEFF}", "\u{202E}", "\u{FFFF}",
    ]

    static func mutate(_ seed: Data, others: [Data], random: inout SplitMix64) -> Data {
        var bytes = [UInt8](seed)
        for _ in 0...random.below(4) {
            let at = random.below(bytes.count + 1)
            switch random.below(9) {
            case 0 where !bytes.isEmpty:
                bytes[min(at, bytes.count - 1)] ^= UInt8(1 << random.below(8))
            case 1 where !bytes.isEmpty:
                bytes[min(at, bytes.count - 1)] = UInt8(truncatingIfNeeded: random.next())
            case 2:
                bytes.insert(contentsOf: Array(tokens[random.below(tokens.count)].utf8), at: at)
            case 3 where !bytes.isEmpty:
                let end = min(bytes.count, at + 1 + random.below(64))
                bytes.removeSubrange(min(at, bytes.count - 1)..<end)
            case 4 where !bytes.isEmpty:
                let start = random.below(bytes.count)
                let chunk = Array(bytes[start..<min(bytes.count, start + 1 + random.below(256))])
                bytes.insert(contentsOf: chunk, at: at)
            case 5:
                // A nesting burst: thousands deep, where recursive parsers die.
                let opener = ["[", "{a: ", "- ", "a:\n ", "{\"a\":"][random.below(5)]
                let depth = [10, 100, 1000, 6000][random.below(4)]
                bytes.insert(contentsOf: Array(String(repeating: opener, count: depth).utf8), at: at)
            case 6:
                let other = [UInt8](others[random.below(others.count)])
                let start = random.below(other.count)
                bytes.insert(contentsOf: other[start..<min(other.count, start + random.below(512))], at: at)
            case 7 where bytes.count > 8:
                // Tar headers hold octal numbers: put an extreme one somewhere.
                let text = Array(["77777777777", "00000000000", "-1", "\u{80}\u{ff}\u{ff}\u{ff}"][random.below(4)].utf8)
                for (offset, byte) in text.enumerated() where at + offset < bytes.count { bytes[at + offset] = byte }
            default:
                bytes = Array(bytes.prefix(at))
            }
        }
        return Data(bytes)
    }
}

/// Stops the process, naming the input, when one parse runs past `limit` seconds: a hang must
/// fail the run, not stall CI until its own timeout. One thread looks once a second.
final class Watchdog: @unchecked Sendable {
    private let lock = NSLock()
    private var current: (target: String, input: Data, since: Date)?
    private var stopped = false
    private let limit: Double

    init(limit: Double) {
        self.limit = limit
        let thread = Thread { [weak self] in
            while let self, !self.isStopped {
                self.check()
                Thread.sleep(forTimeInterval: 1)
            }
        }
        thread.start()
    }

    deinit { stop() }

    private var isStopped: Bool {
        lock.lock()
        defer { lock.unlock() }
        return stopped
    }

    func stop() {
        lock.lock()
        stopped = true
        lock.unlock()
    }

    private func check() {
        lock.lock()
        let running = current
        lock.unlock()
        if let running, Date().timeIntervalSince(running.since) > limit {
            fatalError("fuzz: the \(running.target) parser hung on input \(running.input.base64EncodedString())")
        }
    }

    func arm(_ target: String, _ input: Data) {
        lock.lock()
        current = (target, input, Date())
        lock.unlock()
    }

    func disarm() {
        lock.lock()
        current = nil
        lock.unlock()
    }
}
