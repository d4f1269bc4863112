@testable import AirgapBundle
import Foundation
import XCTest

/// What `--debug` and the error advice say about a URL or a failed connection: no user info,
/// no secret query values, and the fix that fits libcurl's words for the failure.
final class TraceRedactionTests: XCTestCase {
    func testDebugURLKeepsOnlyHarmlessQueryValues() throws {
        let url = try XCTUnwrap(URL(string: "https://user:pw@r.example/v2/a/blobs/uploads/1?_state=SECRET&digest=sha256:ab&X-Amz-Signature=SIG&mount=sha256:cd&from=lib/x"))
        let shown = url.debugString
        for secret in ["user", "pw", "SECRET", "SIG"] { XCTAssertFalse(shown.contains(secret), shown) }
        for kept in ["digest=sha256:ab", "mount=sha256:cd", "from=lib/x", "/v2/a/blobs/uploads/1", "_state=", "X-Amz-Signature="] {
            XCTAssertTrue(shown.contains(kept), "\(kept) missing from \(shown)")
        }
    }

    func testTokenRequestShowsItsScopeButNoAccountSecret() throws {
        let url = try XCTUnwrap(URL(string: "https://auth.example/token?scope=repository:a:pull&service=reg&access_token=TOKEN"))
        XCTAssertTrue(url.debugString.contains("scope=repository:a:pull"), url.debugString)
        XCTAssertFalse(url.debugString.contains("TOKEN"), url.debugString)
    }

    func testConnectionFailuresSayWhatToCheck() throws {
        let url = try XCTUnwrap(URL(string: "https://nosuch.example:5000/v2/"))
        let dns = TransportError.connection(url: url, message: "Could not resolve host: nosuch.example", retryable: false)
        XCTAssertTrue("\(dns)".contains("nosuch.example has no address here") && "\(dns)".contains("--mirror"), "\(dns)")
        let refused = TransportError.connection(url: url, message: "Failed to connect to nosuch.example port 5000: Connection refused", retryable: true)
        XCTAssertTrue("\(refused)".contains("nothing answers at nosuch.example:5000"), "\(refused)")
        XCTAssertEqual(TransportError.gaveUp(attempts: 2, last: refused).brief, "Failed to connect to nosuch.example port 5000: Connection refused")
    }
}
