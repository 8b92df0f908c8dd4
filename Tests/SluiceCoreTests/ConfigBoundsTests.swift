import Foundation
import SluiceCore
import XCTest

/// Sizes, durations and numbers from a config file can be anything: out of range is a config
/// error at the value's line, never a trap converting a Double to an integer (issue 19, 1).
final class ConfigBoundsTests: XCTestCase {
  private func workerError(_ text: String) -> String {
    do {
      _ = try WorkerConfig.parse(text: text, file: "worker.yaml")
      return "no error"
    } catch {
      return error.description
    }
  }

  func testHugeInfiniteAndNaNSizesAreErrorsAtTheirLine() {
    for value in ["infB", "1e300KiB", "inf", "1e19", "9223372036854775807", "2EiB", "-1"] {
      let error = workerError("log:\n  segment_bytes: \(value)\n")
      XCTAssertTrue(error.hasPrefix("worker.yaml:2:"), "\(value): \(error)")
    }
    XCTAssertTrue(workerError("log:\n  segment_bytes: 1e300KiB\n").contains("largest allowed"))
    // Index entries are 32-bit: a segment past 2 GiB would trap the writer, so it is refused.
    XCTAssertTrue(
      workerError("log:\n  segment_bytes: 1TiB\n").hasPrefix("worker.yaml:2:"),
      workerError("log:\n  segment_bytes: 1TiB\n"))
    XCTAssertTrue(workerError("log:\n  segment_bytes: 2GiB\n").contains("at most 2GiB - 1B"))
    XCTAssertEqual(workerError("log:\n  segment_bytes: 1GiB\n"), "no error")
  }

  func testHugeInfiniteAndNaNDurationsAreErrorsAtTheirLine() {
    for (key, value) in [
      ("segment_ms", "1e300d"), ("segment_ms", "infms"), ("segment_ms", "nan"),
      ("retention_ms", "inf"), ("retention_hours", "1e300"), ("retention_hours", "nan"),
      ("retention_hours", "inf"), ("retention_hours", "-5"),
    ] {
      let error = workerError("log:\n  \(key): \(value)\n")
      XCTAssertTrue(error.hasPrefix("worker.yaml:2:"), "\(key): \(value): \(error)")
    }
    XCTAssertEqual(workerError("log:\n  retention_ms: 36500d\n"), "no error")
    XCTAssertEqual(workerError("log:\n  retention_hours: 0.5\n"), "no error")
  }

  func testListenerLimitsParseAndRefuseNonsense() throws {
    let config = try WorkerConfig.parse(
      text: "listeners: { max_connections: 7, header_timeout: 2s, idle_timeout: 1m }\n",
      file: "worker.yaml")
    XCTAssertEqual(config.listeners.maxConnections, 7)
    XCTAssertEqual(config.listeners.headerTimeout, .seconds(2))
    XCTAssertEqual(config.listeners.idleTimeout, .seconds(60))
    XCTAssertEqual(config.listeners.readTimeout, .seconds(60))
    XCTAssertTrue(
      workerError("listeners: { max_connections: 0 }\n").contains("expected an integer from 1"))
    XCTAssertTrue(workerError("listeners: { header_timeout: infs }\n").hasPrefix("worker.yaml:1:"))
  }

  func testSaturatingDifferenceNeverTraps() {
    XCTAssertEqual(Int64(5).saturatingMinus(3), 2)
    XCTAssertEqual(Int64.max.saturatingMinus(.min), .max)
    XCTAssertEqual(Int64.min.saturatingMinus(.max), .min)
    XCTAssertEqual(Int64(0).saturatingMinus(.min), .max)
  }
}
