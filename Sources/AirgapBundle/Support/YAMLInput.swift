import Foundation
import Yams

/// Why a YAML input was refused before it was used.
public enum YAMLInputError: Error, CustomStringConvertible {
    /// `line`/`column` are 0 when the parser gave no position.
    case syntax(source: String, line: Int, column: Int, detail: String)
    case tooDeep(source: String, line: Int, limit: Int)
    case tooManyNodes(source: String, limit: Int)
    case duplicateKey(source: String, key: String, line: Int, firstLine: Int)
    case complexKey(source: String, line: Int)

    public var description: String {
        switch self {
        case .syntax(let source, let line, let column, let detail):
            return "\(source)\(line > 0 ? ":\(line):\(column)" : ""): not valid YAML (\(detail))"
        case .tooDeep(let source, let line, let limit):
            return "\(source): line \(line): nested deeper than \(limit) levels; no airgap, chart or repository file needs that"
        case .tooManyNodes(let source, let limit):
            return "\(source): its aliases expand to more than \(limit) values (a YAML alias bomb?); write the values out instead"
        case .duplicateKey(let source, let key, let line, let firstLine):
            return "\(source): line \(line): key \"\(key)\" appears twice (first on line \(firstLine)); YAML keeps only one of them, so remove one"
        case .complexKey(let source, let line):
            return "\(source): line \(line): a key that is a list or mapping; keys are plain strings"
        }
    }
}

/// Every YAML file airgap reads (airgap.yaml, Chart.yaml, values.yaml, a Helm repository's
/// index.yaml) passes here first. Yams composes nested collections recursively and expands
/// aliases without bound, so before it sees the text:
/// - a cheap scan estimates the nesting depth (indentation levels, sequence dashes, flow
///   brackets) and counts aliases; deep text is refused before Yams can overflow the stack;
/// - the composed tree is walked with a depth limit (aliases can deepen it) and, when the text
///   uses aliases, a budget of values, so an alias bomb stops early;
/// - a key repeated in one mapping is an error naming the key and its lines (YAML would
///   silently keep the last one).
public enum YAMLInput {
    public static let maximumDepth = 64
    /// The scan over-estimates (a mapping inside a sequence item counts twice): its limit is looser.
    static let maximumEstimatedDepth = 4 * maximumDepth
    public static let maximumAliasedNodes = 100_000

    public static func check(_ text: String, source: String) throws {
        _ = try compose(text, source: source)
    }

    /// Checks, then loads as Yams does (`[String: Any]`, `[Any]`, scalars).
    public static func load(_ text: String, source: String) throws -> Any? {
        try check(text, source: source)
        do { return try Yams.load(yaml: text) } catch { throw syntaxError(error, source: source) }
    }

    static func compose(_ text: String, source: String) throws -> Node? {
        let scan = Scan(text)
        if scan.depth > maximumEstimatedDepth { throw YAMLInputError.tooDeep(source: source, line: scan.deepestLine, limit: maximumDepth) }
        let root: Node?
        do { root = try Yams.compose(yaml: text) } catch { throw syntaxError(error, source: source) }
        guard let root else { return nil }
        var budget = scan.aliases > 0 ? maximumAliasedNodes : Int.max
        try walk(root, depth: 1, budget: &budget, source: source)
        return root
    }

    private static func walk(_ node: Node, depth: Int, budget: inout Int, source: String) throws {
        budget -= 1
        if budget < 0 { throw YAMLInputError.tooManyNodes(source: source, limit: maximumAliasedNodes) }
        switch node {
        case .scalar:
            return
        case .sequence(let sequence):
            if depth > maximumDepth { throw YAMLInputError.tooDeep(source: source, line: line(of: node), limit: maximumDepth) }
            for child in sequence { try walk(child, depth: depth + 1, budget: &budget, source: source) }
        case .mapping(let mapping):
            if depth > maximumDepth { throw YAMLInputError.tooDeep(source: source, line: line(of: node), limit: maximumDepth) }
            var seen: [String: Int] = [:]
            for (key, value) in mapping {
                // Yams force-unwraps keys as strings when it builds dictionaries.
                guard case .scalar(let scalar) = key else { throw YAMLInputError.complexKey(source: source, line: line(of: key)) }
                if scalar.string != "<<" {
                    if let first = seen[scalar.string] {
                        throw YAMLInputError.duplicateKey(source: source, key: scalar.string, line: line(of: key), firstLine: first)
                    }
                    seen[scalar.string] = line(of: key)
                }
                try walk(key, depth: depth + 1, budget: &budget, source: source)
                try walk(value, depth: depth + 1, budget: &budget, source: source)
            }
        }
    }

    private static func line(of node: Node) -> Int { node.mark?.line ?? 0 }

    /// Yams errors quote the offending text over several lines; the first line says what and where.
    /// Yams' own description spans three lines (a snippet and a caret) and, with a context,
    /// loses the problem after the first: take the parts instead.
    static func syntaxError(_ error: Error, source: String) -> YAMLInputError {
        func detail(_ context: YamlError.Context?, _ problem: String) -> String {
            problem + (context.map { ", \($0.text) started at line \($0.mark.line), column \($0.mark.column)" } ?? "")
        }
        switch error as? YamlError {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
             .composer(let context, let problem, let mark, _):
            return .syntax(source: source, line: mark.line, column: mark.column, detail: detail(context, problem))
        default:
            let first = String(describing: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
            return .syntax(source: source, line: 0, column: 0, detail: first)
        }
    }

    /// One pass over the text: an upper bound of the nesting depth, where it peaks, and how many
    /// aliases (`*name`) it uses. Quoted scalars, comments and block scalars (`|`, `>`) are skipped.
    struct Scan {
        var depth = 0
        var deepestLine = 0
        var aliases = 0

        init(_ text: String) {
            var indents: [Int] = []
            var flow = 0
            var quote: UInt8?
            var blockScalarParent: Int?
            var lineNumber = 0
            for line in text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
                lineNumber += 1
                let bytes = Array(line)
                let indent = bytes.prefix { $0 == UInt8(ascii: " ") }.count
                let blank = bytes.allSatisfy { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") || $0 == UInt8(ascii: "\r") }
                if let parent = blockScalarParent {
                    if blank || indent > parent { continue }
                    blockScalarParent = nil
                }
                if blank { continue }
                if quote == nil, flow == 0, bytes[indent] != UInt8(ascii: "#") {
                    while let top = indents.last, top > indent { indents.removeLast() }
                    if indents.last != indent { indents.append(indent) }
                }
                var dashes = 0
                var atTokenStart = true
                var lastSignificant: UInt8 = 0
                var index = indent
                scanning: while index < bytes.count {
                    let byte = bytes[index]
                    if let open = quote {
                        if open == UInt8(ascii: "\""), byte == UInt8(ascii: "\\") { index += 2; continue }
                        if byte == open {
                            if open == UInt8(ascii: "'"), index + 1 < bytes.count, bytes[index + 1] == open { index += 2; continue }
                            quote = nil
                            lastSignificant = byte
                        }
                        index += 1
                        atTokenStart = false
                        continue
                    }
                    switch byte {
                    case UInt8(ascii: "#") where atTokenStart:
                        break scanning
                    case UInt8(ascii: "\""), UInt8(ascii: "'"):
                        if atTokenStart { quote = byte }
                    case UInt8(ascii: "["), UInt8(ascii: "{"):
                        flow += 1
                        note(2 * (indents.count + dashes) + flow, line: lineNumber)
                    case UInt8(ascii: "]"), UInt8(ascii: "}"):
                        flow = max(0, flow - 1)
                    case UInt8(ascii: "*") where atTokenStart:
                        aliases += 1
                    case UInt8(ascii: "-"), UInt8(ascii: "?"):
                        let next = index + 1 < bytes.count ? bytes[index + 1] : UInt8(ascii: " ")
                        if atTokenStart, flow == 0, next == UInt8(ascii: " ") || next == UInt8(ascii: "\r") { dashes += 1 }
                    default:
                        break
                    }
                    let separator = byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: ",")
                        || byte == UInt8(ascii: "[") || byte == UInt8(ascii: "{") || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "?")
                        || byte == UInt8(ascii: ":")
                    atTokenStart = separator
                    if !(byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\r")) { lastSignificant = byte }
                    index += 1
                }
                note(2 * (indents.count + dashes) + flow, line: lineNumber)
                // A block scalar's lines are text, not structure, until the indentation falls back.
                if quote == nil, flow == 0, Self.endsWithBlockScalarIndicator(bytes, lastSignificant: lastSignificant) {
                    blockScalarParent = indent
                }
            }
        }

        private mutating func note(_ estimate: Int, line: Int) {
            if estimate > depth { depth = estimate; deepestLine = line }
        }

        /// `key: |`, `- >-`, `key: |2+` (a comment may follow).
        static func endsWithBlockScalarIndicator(_ bytes: [UInt8], lastSignificant: UInt8) -> Bool {
            var text = String(decoding: bytes, as: UTF8.self)
            if let hash = text.range(of: " #") { text = String(text[..<hash.lowerBound]) }
            text = text.trimmingCharacters(in: .whitespaces.union(CharacterSet(charactersIn: "\r")))
            while let last = text.last, last == "+" || last == "-" || last.isASCIIDigit { text.removeLast() }
            guard let indicator = text.last, indicator == "|" || indicator == ">" else { return false }
            text.removeLast()
            return text.isEmpty || text.hasSuffix(" ") || text.hasSuffix(":") || text.hasSuffix("-")
        }
    }
}
