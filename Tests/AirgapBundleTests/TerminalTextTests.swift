import AirgapBundle
import XCTest

/// Text from outside is printed escaped.
final class TerminalTextTests: XCTestCase {
    func testControlCharactersAreShownEscaped() {
        XCTAssertEqual(TerminalText.escape("a\u{1B}[2Jb\r\nairgap: ok\u{0}\t\u{7F}\u{9B}"), "a\\e[2Jb\\r\\nairgap: ok\\0\\t\\u{7f}\\u{9b}")
        XCTAssertEqual(TerminalText.escape("evil\u{202E}txt.exe"), "evil\\u{202e}txt.exe")
    }

    func testOrdinaryTextIsUnchanged() {
        for text in ["docker.io/library/flink:1.17.1", "größe: 1,0 KiB", "sha256:abc…", "日本語"] {
            XCTAssertEqual(TerminalText.escape(text), text)
        }
    }
}
