/// The `--help` discussion of a command: what it does, then examples to paste, as kubectl and
/// oc print them (a comment line, then the command), so `airgap help push` answers "how do I…".
/// Lines are wrapped here, below ArgumentParser's 80 columns, so that a long command breaks with
/// a shell continuation (` \`) and still pastes, instead of being re-flowed mid-word.
enum HelpText {
    static let width = 76

    static func discussion(_ prose: String, examples: [(what: String, command: String)]) -> String {
        var text = prose.isEmpty ? "" : prose + "\n\n"
        text += "EXAMPLES:\n"
        text += examples.map { example in
            (wrap(example.what, first: "  # ", next: "  # ") + wrap(example.command, first: "  ", next: "      ", continuation: " \\"))
                .joined(separator: "\n")
        }.joined(separator: "\n\n")
        return text
    }

    /// Words that must stay on one line: `--flag value` pairs and `$(…)`.
    private static func units(_ text: String) -> [String] {
        var words: [String] = []
        var depth = 0
        for word in text.split(separator: " ").map(String.init) {
            if depth > 0 || (words.last.map { $0.hasPrefix("--") && !$0.contains(" ") && !word.hasPrefix("-") && !["|", "&&", ">"].contains(word) } ?? false) {
                words[words.count - 1] += " " + word
            } else {
                words.append(word)
            }
            depth += word.filter { $0 == "(" }.count - word.filter { $0 == ")" }.count
        }
        return words
    }

    private static func wrap(_ text: String, first: String, next: String, continuation: String = "") -> [String] {
        var lines: [String] = []
        var line = first
        for word in units(text) {
            let empty = line == first || line == next
            if !empty, line.count + 1 + word.count + continuation.count > width {
                lines.append(line + continuation)
                line = next
            }
            line += (line == first || line == next ? "" : " ") + word
        }
        return lines + [line]
    }
}
