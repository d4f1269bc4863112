import AirgapBundle
import XCTest

/// Chart names and versions as Helm accepts them.
final class ChartMetadataRulesTests: XCTestCase {
    func testChartNames() {
        for name in ["flink-cdc", "a", "my_chart.v2", "Chart9"] { XCTAssertTrue(ChartName.isValid(name), name) }
        for name in ["", ".", "..", "../evil", "a/b", "a b", "é", "x\u{0}"] { XCTAssertFalse(ChartName.isValid(name), name) }
    }

    func testSemVer2() {
        for version in ["0.1.0", "1.2.3", "10.20.30", "1.0.0-rc.1", "1.0.0-alpha-a.b-c", "1.0.0+build.5", "1.0.0-0.3.7+sha.abc"] {
            XCTAssertTrue(SemanticVersion.isValid(version), version)
        }
        for version in ["", "1", "1.2", "v1.2.3", "01.2.3", "1.2.3-01", "1.2.3-", "1.2.3+", "1.2.3/../x", "1.2.3-a..b", "1.2.3 "] {
            XCTAssertFalse(SemanticVersion.isValid(version), version)
        }
    }
}
