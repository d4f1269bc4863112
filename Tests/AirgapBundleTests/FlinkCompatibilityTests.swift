import AirgapBundle
import Manifests
import XCTest

final class FlinkCompatibilityTests: XCTestCase {
    private func ids(_ coordinates: [String], flink: String = "1.17.1") throws -> [String] {
        FlinkCompatibility.check(jars: try coordinates.map(MavenCoordinate.init(parsing:)), flink: flink).map(\.id)
    }

    func testTheSeedConnectorsFitFlink117() throws {
        XCTAssertEqual(try ids(["com.ververica:flink-sql-connector-sqlserver-cdc:2.4.2", "org.apache.flink:flink-sql-connector-kafka:1.17.1"]), [])
    }

    func testExternalizedConnectorSuffixMustMatchTheFlinkMinor() throws {
        XCTAssertEqual(try ids(["org.apache.flink:flink-sql-connector-kafka:3.0.1-1.16"]), ["FLINK-CONNECTOR-VERSION"])
        XCTAssertEqual(try ids(["org.apache.flink:flink-sql-connector-kafka:3.0.1-1.17"]), [])
    }

    func testInTreeFormatMustEqualTheFlinkVersionAndIsAlreadyInTheImage() throws {
        XCTAssertEqual(try ids(["org.apache.flink:flink-json:1.16.2"]), ["FLINK-CONNECTOR-VERSION", "FLINK-IN-IMAGE"])
        let same = FlinkCompatibility.check(jars: [try MavenCoordinate(parsing: "org.apache.flink:flink-json:1.17.1")], flink: "1.17.1")
        XCTAssertEqual(same.map(\.id), ["FLINK-IN-IMAGE"])
        XCTAssertEqual(same.first?.severity, .warning, "the same version twice is a duplicate, not a conflict")
    }

    func testCDCVersionsFollowTheCompatibilityTable() throws {
        XCTAssertEqual(try ids(["com.ververica:flink-sql-connector-sqlserver-cdc:2.2.1"]), ["FLINK-CDC-VERSION"])
        XCTAssertEqual(try ids(["com.ververica:flink-sql-connector-sqlserver-cdc:3.0.1"]), [])
        XCTAssertEqual(try ids(["com.ververica:flink-sql-connector-sqlserver-cdc:2.4.2"], flink: "1.18.0"), ["FLINK-CDC-VERSION"])
        XCTAssertEqual(try ids(["com.ververica:flink-sql-connector-sqlserver-cdc:9.9.0"]), ["FLINK-CDC-UNKNOWN"])
    }

    func testScalaSuffixAndDuplicates() throws {
        XCTAssertEqual(try ids(["org.example:lib_2.11:1.0"]), ["FLINK-SCALA"])
        XCTAssertEqual(try ids(["org.example:lib_2.12:1.0"]), [])
        XCTAssertEqual(try ids(["org.example:lib:1.0", "org.example:lib:2.0"]), ["FLINK-DUPLICATE"])
    }

    func testVersionsAreReadFromTags() {
        XCTAssertEqual(FlinkCompatibility.flinkVersion(fromTag: "1.17.1-scala_2.12-java11"), "1.17.1")
        XCTAssertEqual(FlinkCompatibility.scalaVersion(fromTag: "1.17.1-scala_2.12-java11"), "2.12")
        XCTAssertNil(FlinkCompatibility.flinkVersion(fromTag: "latest"))
    }
}
