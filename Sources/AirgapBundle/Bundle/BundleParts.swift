import Foundation
import Manifests
import OCILayout

/// Finds a bundle on disk, whole (`bundle.tar`) or split (`bundle.tar.001` …), and checks a
/// split set before anything reads it: every part the checksum file lists is there, nothing
/// else is, and the sizes fit one pack's cut. Each problem names the part and what to do.
enum BundleParts {
    /// The bundle's bytes: the tarball itself when there is one (also after the parts were
    /// reassembled with `cat`), else its parts in order.
    static func open(_ path: String, checksumLines: [(name: String, digest: Digest)]?) throws -> PartedFile {
        if FileManager.default.fileExists(atPath: path) {
            do { return try PartedFile.openForReading(path) } catch { throw LayoutDefect(entry: path, problem: "\(error)") }
        }
        let onDisk = PartNames.existing(for: path)
        guard !onDisk.isEmpty else { throw LayoutDefect(entry: path, problem: "no such file, and no parts \(PartNames.path(for: path, number: 1)) …") }
        let numbers = try expectedNumbers(path, onDisk: onDisk, checksumLines: checksumLines)
        let parts: [FileDescriptor]
        do { parts = try numbers.map { try FileDescriptor.openForReading(onDisk[$0]!) } } catch {
            throw LayoutDefect(entry: path, problem: "\(error)")
        }
        let file: PartedFile
        do { file = try PartedFile(path: path, parts: parts) } catch { throw LayoutDefect(entry: path, problem: "\(error)") }
        try checkSizes(file)
        return file
    }

    /// The part numbers to read, 1…N, or the first missing or extra part as a defect.
    private static func expectedNumbers(_ path: String, onDisk: [Int: String],
                                        checksumLines: [(name: String, digest: Digest)]?) throws -> [Int] {
        let name = URL(fileURLWithPath: path).lastPathComponent
        let listed = (checksumLines ?? []).compactMap { line -> Int? in
            guard line.name.hasPrefix(name + ".") else { return nil }
            let suffix = line.name.dropFirst(name.count + 1)
            return suffix.count >= 3 && suffix.allSatisfy(\.isNumber) ? Int(suffix) : nil
        }
        let checksumName = URL(fileURLWithPath: BundleChecksum.path(for: path)).lastPathComponent
        if !listed.isEmpty {
            for number in listed where onDisk[number] == nil {
                throw LayoutDefect(entry: PartNames.path(for: path, number: number),
                                   problem: "missing; \(checksumName) lists \(listed.count) parts, copy this one beside the others")
            }
            let known = Set(listed)
            if let extra = onDisk.keys.filter({ !known.contains($0) }).min() {
                throw LayoutDefect(entry: onDisk[extra]!, problem: "is not listed in \(checksumName); it is left from another pack, remove it")
            }
            guard listed == Array(1...listed.count) else {
                throw LayoutDefect(entry: BundleChecksum.path(for: path), problem: "does not list the parts as 1…\(listed.count) in order; pack again")
            }
            return listed
        }
        let last = onDisk.keys.max()!
        if let gap = (1...last).first(where: { onDisk[$0] == nil }) {
            throw LayoutDefect(entry: PartNames.path(for: path, number: gap),
                               problem: "missing, but \(URL(fileURLWithPath: onDisk[last]!).lastPathComponent) is there; copy every part of the set")
        }
        return Array(1...last)
    }

    /// A pack cuts every part but the last at the same size: a part of another size was cut
    /// short, grown, or comes from another pack.
    private static func checkSizes(_ file: PartedFile) throws {
        let full = file.partSizes[0]
        for (index, size) in file.partSizes.enumerated() {
            let isLast = index == file.partSizes.count - 1
            guard size > 0, isLast ? size <= full : size == full else {
                throw LayoutDefect(entry: file.parts[index].path,
                                   problem: "is \(size) bytes, but \(isLast ? "the parts before it are" : "part 1 is") \(full); it was cut short in transfer or belongs to another pack, copy it again")
            }
        }
    }

    /// After the scan: each part against its line of the checksum file.
    static func checkDigests(_ file: PartedFile, actual: [Digest], checksumLines: [(name: String, digest: Digest)]) throws {
        let byName = Dictionary(checksumLines.map { ($0.name, $0.digest) }, uniquingKeysWith: { first, _ in first })
        let checksumName = URL(fileURLWithPath: BundleChecksum.path(for: file.path)).lastPathComponent
        for (index, part) in file.parts.enumerated() {
            let name = URL(fileURLWithPath: part.path).lastPathComponent
            guard let expected = byName[name] else { continue }
            let digest = index < actual.count ? actual[index] : nil
            guard digest != expected else { continue }
            if let digest, let other = checksumLines.first(where: { $0.digest == digest && $0.name != name }) {
                throw LayoutDefect(entry: part.path, problem: "holds the bytes of \(other.name); the parts were renamed or reordered, give each its own name back")
            }
            throw LayoutDefect(entry: part.path, problem: "SHA-256 is \(digest?.description ?? "unreadable"), but \(checksumName) records \(expected); the part was damaged in transfer, copy it again")
        }
    }

    /// When a scan of a split bundle failed: the part that does not match its line, if one
    /// does not, so the message names what to copy again rather than an entry inside it.
    static func findDamagedPart(_ file: PartedFile, checksumLines: [(name: String, digest: Digest)]) -> LayoutDefect? {
        var digests: [Digest] = []
        for part in file.parts {
            let hasher = SHA256Hasher()
            guard (try? part.forEachChunk(offset: 0, length: part.size()) { hasher.update($0) }) != nil else { return nil }
            digests.append(hasher.finalize())
        }
        do { try checkDigests(file, actual: digests, checksumLines: checksumLines) } catch let defect as LayoutDefect { return defect } catch {}
        return nil
    }
}
