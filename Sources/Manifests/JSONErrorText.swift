import Foundation

/// A JSON decoding failure as one line for an operator: where (`FILE:LINE:COLUMN` for a syntax
/// error, the key path for a wrong shape) and what, without Swift's type names
/// (`DecodingError.dataCorrupted`, `Swift.String`) that mean nothing to them.
public enum JSONErrorText {
    /// Where the error is (`auth.json:3:7`, or just `auth.json` when the text parsed and the
    /// shape was wrong) and what it is (`invalid value`, `auths.quay.io.auth: expected a string`).
    public static func locate(_ error: Error, in data: Data?, source: String) -> (location: String, detail: String) {
        if let data, let (line, column, message) = syntaxPosition(in: data) {
            return ("\(source):\(line):\(column)", message)
        }
        return (source, describe(error))
    }

    /// `SOURCE:LINE:COLUMN: detail` (or `SOURCE: detail`), the whole story in one line.
    public static func oneLine(_ error: Error, in data: Data?, source: String) -> String {
        let (location, detail) = locate(error, in: data, source: source)
        return "\(location): \(detail)"
    }

    /// What is wrong, without where: `auths.quay.io.auth: expected a string`.
    public static func describe(_ error: Error) -> String {
        guard let error = error as? DecodingError else { return clean((error as NSError).localizedDescription) }
        switch error {
        case .dataCorrupted(let context):
            return located(context, context.codingPath.isEmpty ? "not valid JSON" : clean(context.debugDescription))
        case .keyNotFound(let key, let context):
            return located(context, "\"\(key.stringValue)\" is missing")
        case .typeMismatch(let type, let context):
            return located(context, "expected \(article(for: type))")
        case .valueNotFound(let type, let context):
            return located(context, "expected \(article(for: type)), found null")
        @unknown default:
            return "not the expected JSON"
        }
    }

    /// The line and column of the first syntax error in `data`, or nil when it parses.
    /// JSONDecoder on Linux says only "not valid JSON"; JSONSerialization names the offset.
    static func syntaxPosition(in data: Data) -> (Int, Int, String)? {
        do {
            _ = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
            return nil
        } catch {
            let text = ((error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String) ?? (error as NSError).localizedDescription
            guard let range = text.range(of: #"character \d+"#, options: .regularExpression),
                  let offset = Int(text[range].dropFirst("character ".count))
            else { return (1, 1, clean(text)) }
            var line = 1, column = 1
            for byte in data.prefix(max(0, offset)) {
                if byte == UInt8(ascii: "\n") { line += 1; column = 1 } else if byte & 0xC0 != 0x80 { column += 1 }
            }
            let message = clean(text.replacingCharacters(in: range, with: "").replacingOccurrences(of: " around ", with: "")
                .replacingOccurrences(of: " at ", with: ""))
            return (line, column, message.isEmpty ? "not valid JSON" : message)
        }
    }

    private static func located(_ context: DecodingError.Context, _ message: String) -> String {
        let path = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
            .replacingOccurrences(of: ".[", with: "[")
        return path.isEmpty ? message : "\(path): \(message)"
    }

    private static func article(for type: Any.Type) -> String {
        switch String(describing: type) {
        case "String": return "a string"
        case "Int", "Int64", "UInt64", "Double", "Int32": return "a number"
        case "Bool": return "true or false"
        case let name where name.hasPrefix("Array"): return "a list"
        default: return "an object"
        }
    }

    private static func clean(_ text: String) -> String {
        var text = text.trimmingCharacters(in: .whitespacesAndNewlines)
        while text.hasSuffix(".") { text.removeLast() }
        return text.prefix(1).lowercased() + text.dropFirst()
    }
}
