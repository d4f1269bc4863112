@testable import AirgapBundle
import XCTest

/// YAML is refused before Yams can overflow the stack, expand an alias bomb, or drop a key.
final class YAMLInputTests: XCTestCase {
    private func refusal(_ text: String) -> String? {
        do { try YAMLInput.check(text, source: "f.yaml"); return nil } catch { return "\(error)" }
    }

    func testOrdinaryFilesPass() {
        XCTAssertNil(refusal("a:\n  b: [1, 2, {c: d}]\n  e: |\n    [[[[ not structure\n    {{ .Values }}\n  f: \"[[[\"\n"))
        XCTAssertNil(refusal("base: &b {x: 1}\nuse: {<<: *b, y: 2}\n"))
        XCTAssertNil(refusal(""))
    }

    func testDeepFlowAndBlockNestingAreRefusedWithTheLine() {
        XCTAssertEqual(refusal("x: 1\ny: " + String(repeating: "[", count: 300)), "f.yaml: line 2: nested deeper than 64 levels; no airgap, chart or repository file needs that")
        let block = (0..<200).map { String(repeating: " ", count: $0) + "k:" }.joined(separator: "\n")
        XCTAssertTrue(refusal(block)?.contains("nested deeper than 64 levels") ?? false)
        XCTAssertTrue(refusal(String(repeating: "- ", count: 300) + "x")?.contains("nested deeper") ?? false)
    }

    func testAliasesDeepeningTheTreeAreCaught() {
        var text = "a0: &a0 [x]\n"
        for level in 1...100 { text += "a\(level): &a\(level) [*a\(level - 1)]\n" }
        XCTAssertTrue(refusal(text)?.contains("nested deeper than 64 levels") ?? false, refusal(text) ?? "passed")
    }

    func testAliasBombIsRefused() {
        var text = "a: &a [l, l, l, l, l, l, l, l, l]\n"
        for (previous, name) in zip("abcdefg", "bcdefgh") { text += "\(name): &\(name) [" + Array(repeating: "*\(previous)", count: 9).joined(separator: ",") + "]\n" }
        XCTAssertTrue(refusal(text)?.contains("aliases expand to more than 100000 values") ?? false)
    }

    func testDuplicateKeyNamesKeyAndLines() {
        XCTAssertEqual(refusal("images: []\nother: 1\nimages: [a]\n"),
                       "f.yaml: line 3: key \"images\" appears twice (first on line 1); YAML keeps only one of them, so remove one")
        XCTAssertTrue(refusal("a:\n  b: 1\n  b: 2\n")?.contains("key \"b\"") ?? false)
        XCTAssertNil(refusal("a: {b: 1}\nc: {b: 1}\n"), "the same key in two mappings is fine")
    }

    func testKeysMustBePlainStrings() {
        XCTAssertTrue(refusal("[a, b]: c\n")?.contains("keys are plain strings") ?? false)
        XCTAssertTrue(refusal("? {a: b}\n: c\n")?.contains("keys are plain strings") ?? false)
    }

    func testSyntaxErrorsStayOnOneLine() {
        let message = refusal("a: [b\nc: d\n") ?? ""
        XCTAssertTrue(message.hasPrefix("f.yaml:2:2: not valid YAML ("), message)
        XCTAssertTrue(message.contains("did not find expected ',' or ']'") && message.contains("started at line 1, column 4"), message)
        XCTAssertFalse(message.contains("\n"), message)
    }
}
