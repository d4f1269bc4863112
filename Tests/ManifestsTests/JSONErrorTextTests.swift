import Foundation
import Manifests
import XCTest

/// JSON decoding failures read as one line with their place: the line and column of a syntax
/// error, the key path of a wrong shape, and no Swift type names.
final class JSONErrorTextTests: XCTestCase {
    struct Auth: Decodable { var auths: [String: [String: String]] }

    private func failure(_ text: String) -> Error? {
        do { _ = try JSONDecoder().decode(Auth.self, from: Data(text.utf8)); return nil } catch { return error }
    }

    func testSyntaxErrorNamesFileLineAndColumn() throws {
        let text = "{\"auths\": {\n  \"quay.io\": {\"auth\": }\n}}"
        let error = try XCTUnwrap(failure(text))
        let line = JSONErrorText.oneLine(error, in: Data(text.utf8), source: "auth.json")
        XCTAssertTrue(line.hasPrefix("auth.json:2:"), line)
        XCTAssertFalse(line.contains("DecodingError") || line.contains("\n"), line)
    }

    func testWrongShapeNamesTheKeyPath() throws {
        let text = "{\"auths\": {\"quay.io\": {\"auth\": 5}}}"
        let error = try XCTUnwrap(failure(text))
        XCTAssertEqual(JSONErrorText.oneLine(error, in: Data(text.utf8), source: "auth.json"), "auth.json: auths.quay.io.auth: expected a string")
        let missing = try XCTUnwrap(failure("{}"))
        XCTAssertEqual(JSONErrorText.describe(missing), "\"auths\" is missing")
    }
}
