@testable import AirgapBundle
import Foundation
import XCTest

/// The one rule for redirects and upload `Location`s.
final class RedirectRuleTests: XCTestCase {
    private let registry = URL(string: "https://registry.example:5000/v2/a/blobs/uploads/")!

    func testRelativeLocationStaysOnTheSameOriginWithItsCredentials() throws {
        let next = try RedirectRule.next(from: registry, location: "/v2/a/blobs/uploads/123?_state=x")
        XCTAssertEqual(next.absoluteString, "https://registry.example:5000/v2/a/blobs/uploads/123?_state=x")
        var request = HTTPRequest(url: registry)
        request.setHeader("Authorization", "Basic abc")
        XCTAssertEqual(RedirectRule.moved(request, to: next).header("Authorization"), "Basic abc")
    }

    func testAnotherHostOrPortLosesTheCredentials() throws {
        var request = HTTPRequest(url: registry)
        request.setHeader("Authorization", "Basic abc")
        for location in ["https://storage.example/blob", "https://registry.example:5001/v2/", "https://registry.example.evil:5000/"] {
            let next = try RedirectRule.next(from: registry, location: location)
            XCTAssertNil(RedirectRule.moved(request, to: next).header("Authorization"), location)
        }
    }

    func testHTTPSNeverContinuesOverHTTP() {
        for location in ["http://registry.example:5000/v2/", "http://elsewhere/upload"] {
            XCTAssertThrowsError(try RedirectRule.next(from: registry, location: location)) { error in
                XCTAssertTrue("\(error)".contains("drops from HTTPS to HTTP"), "\(error)")
            }
        }
    }

    func testOnlyHTTPLocationsAreFollowed() {
        for location in ["file:///etc/passwd", "ftp://host/x", "gopher://x"] {
            XCTAssertThrowsError(try RedirectRule.next(from: URL(string: "http://a/")!, location: location), location)
        }
    }

    func testURLsAreRecordedWithoutUserInfo() {
        let url = URL(string: "https://user:secret@repo.example/maven2")!
        XCTAssertTrue(url.hasUserInfo)
        XCTAssertEqual(url.withoutUserInfo.absoluteString, "https://repo.example/maven2")
        XCTAssertFalse(url.redactedString.contains("secret"))
    }
}
