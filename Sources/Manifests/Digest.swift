import Foundation

/// A content digest as OCI writes it: `algorithm:encoded`, e.g. `sha256:9f86d08…`.
///
/// Only the registered algorithms are accepted, with their exact lowercase hex length, so a digest
/// that parses can be used as a file name under `blobs/<algorithm>/` without further checks.
public struct Digest: Hashable, Comparable, Sendable, CustomStringConvertible, Codable {
    public enum Algorithm: String, Sendable, Codable {
        case sha256, sha512

        var hexLength: Int { self == .sha256 ? 64 : 128 }
    }

    public let algorithm: Algorithm
    /// Lowercase hexadecimal, exactly `algorithm.hexLength` characters.
    public let encoded: String

    public init(algorithm: Algorithm, encoded: String) throws {
        guard encoded.utf8.count == algorithm.hexLength,
              encoded.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) })
        else { throw ManifestError.invalidDigest("\(algorithm.rawValue):\(encoded)") }
        self.algorithm = algorithm
        self.encoded = encoded
    }

    public init(parsing text: String) throws {
        guard let colon = text.firstIndex(of: ":"),
              let algorithm = Algorithm(rawValue: String(text[..<colon]))
        else { throw ManifestError.invalidDigest(text) }
        try self.init(algorithm: algorithm, encoded: String(text[text.index(after: colon)...]))
    }

    public var description: String { "\(algorithm.rawValue):\(encoded)" }

    /// The first 12 hex characters, for messages meant for people.
    public var short: String { String(encoded.prefix(12)) }

    public static func < (lhs: Digest, rhs: Digest) -> Bool { lhs.description < rhs.description }

    public init(from decoder: Decoder) throws {
        try self.init(parsing: try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    /// SHA-256 of bytes held in memory (manifests, configs: small things only).
    public static func sha256(of data: Data) -> Digest {
        let hasher = SHA256Hasher()
        hasher.update(data)
        return hasher.finalize()
    }
}
