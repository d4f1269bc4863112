/// A `WWW-Authenticate` challenge: `Bearer realm="…",service="…",scope="…"` or `Basic realm="…"`.
public struct AuthChallenge: Equatable, Sendable {
    public enum Scheme: String, Sendable { case basic, bearer }

    public var scheme: Scheme
    public var parameters: [String: String]

    public var realm: String? { parameters["realm"] }
    public var service: String? { parameters["service"] }

    /// Parses the first challenge airgap can answer; nil for none (e.g. only `Negotiate`).
    public init?(header: String) {
        let trimmed = header.trimmingCharacters(in: .whitespaces)
        guard let space = trimmed.firstIndex(of: " ") ?? (trimmed.isEmpty ? nil : trimmed.endIndex),
              let scheme = Scheme(rawValue: trimmed[..<space].lowercased())
        else { return nil }
        self.scheme = scheme
        self.parameters = Self.parseParameters(String(trimmed[space...]))
    }

    /// auth-params per RFC 7235: `key=value` or `key="quoted, value"`, separated by commas.
    static func parseParameters(_ text: String) -> [String: String] {
        var result: [String: String] = [:]
        var characters = Array(text)[...]
        func skip(_ set: Set<Character>) { while let first = characters.first, set.contains(first) { characters.removeFirst() } }
        while true {
            skip([" ", ","])
            guard !characters.isEmpty else { break }
            var key = ""
            while let first = characters.first, first != "=", first != "," { key.append(first); characters.removeFirst() }
            guard characters.first == "=" else { continue }
            characters.removeFirst()
            var value = ""
            if characters.first == "\"" {
                characters.removeFirst()
                while let first = characters.first, first != "\"" {
                    characters.removeFirst()
                    if first == "\\", let escaped = characters.first { value.append(escaped); characters.removeFirst() } else { value.append(first) }
                }
                if !characters.isEmpty { characters.removeFirst() }
            } else {
                while let first = characters.first, first != "," { value.append(first); characters.removeFirst() }
            }
            result[key.trimmingCharacters(in: .whitespaces).lowercased()] = value.trimmingCharacters(in: .whitespaces)
        }
        return result
    }
}

import Foundation
