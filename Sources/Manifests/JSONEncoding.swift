import Foundation

extension JSONEncoder {
    /// The encoder for every JSON document airgap writes: sorted keys and no `\/` escapes, so the
    /// same content always gives the same bytes (and so the same digest).
    public static func canonical(pretty: Bool = false) -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.sortedKeys, .withoutEscapingSlashes, .prettyPrinted] : [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}
