import CCurl
import CLibPQ
import CMosquitto
import XCTest

/// The system-library targets resolve through pkg-config and link: each reports its version.
/// The connector issues build on these modules.
final class SystemLibraryTests: XCTestCase {
  func testLibPQLinks() {
    XCTAssertGreaterThanOrEqual(PQlibVersion(), 150_000, "libpq 15 or newer")
  }

  func testLibMosquittoLinks() {
    var major: Int32 = 0
    var minor: Int32 = 0
    var revision: Int32 = 0
    _ = mosquitto_lib_version(&major, &minor, &revision)
    XCTAssertGreaterThanOrEqual(major, 2)
  }

  func testLibCurlLinks() {
    let version = String(cString: curl_version())
    XCTAssertTrue(version.hasPrefix("libcurl/"), version)
  }
}
