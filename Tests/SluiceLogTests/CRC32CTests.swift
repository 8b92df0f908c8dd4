import XCTest

@testable import SluiceLog

final class CRC32CTests: XCTestCase {
  func testHardwareAndTableVersionsAgreeWithTheBitwiseDefinition() {
    var generator = SystemRandomNumberGenerator()
    for length in [0, 1, 7, 8, 9, 63, 64, 65, 1000, 4097] {
      let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
      let expected = length == 0 ? 0 : crc32c(bytes)
      bytes.withUnsafeBytes { raw in
        XCTAssertEqual(CRC32C.software(raw), expected, "table, length \(length)")
        XCTAssertEqual(
          CRC32C.checksum(raw), expected, "hardware=\(CRC32C.hardware), length \(length)")
      }
    }
    XCTAssertEqual(CRC32C.checksum(Array("123456789".utf8)), 0xE306_9283)
  }
}
