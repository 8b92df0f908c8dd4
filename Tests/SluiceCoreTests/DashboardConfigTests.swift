import SluiceCore
import XCTest

/// `dashboard: { sample_interval_ms: … }` in worker.yaml: the dashboard sampler's interval.
final class DashboardConfigTests: XCTestCase {
  private func parse(_ text: String) throws -> WorkerConfig {
    try WorkerConfig.parse(text: text, file: "worker.yaml")
  }

  private func error(_ text: String) -> String {
    do {
      _ = try WorkerConfig.parse(text: text, file: "worker.yaml")
      return "no error"
    } catch {
      return error.description
    }
  }

  func testDefaultIsTenSeconds() throws {
    XCTAssertEqual(try parse("data_dir: d\n").dashboard.sampleInterval, .seconds(10))
    XCTAssertEqual(try parse("dashboard: {}\n").dashboard.sampleInterval, .seconds(10))
  }

  func testIntervalTakesDurations() throws {
    XCTAssertEqual(
      try parse("dashboard: { sample_interval_ms: 1s }\n").dashboard.sampleInterval, .seconds(1))
    XCTAssertEqual(
      try parse("dashboard:\n  sample_interval_ms: 250\n").dashboard.sampleInterval,
      .milliseconds(250))
  }

  func testOutOfRangeAndUnknownKeysAreErrorsAtTheirLine() {
    let tooShort = error("data_dir: d\ndashboard:\n  sample_interval_ms: 10ms\n")
    XCTAssertTrue(tooShort.hasPrefix("worker.yaml:3:"), tooShort)
    XCTAssertTrue(tooShort.contains("100ms to 60s"), tooShort)
    let tooLong = error("dashboard:\n  sample_interval_ms: 5m\n")
    XCTAssertTrue(tooLong.hasPrefix("worker.yaml:2:"), tooLong)
    let notDuration = error("dashboard:\n  sample_interval_ms: often\n")
    XCTAssertTrue(notDuration.hasPrefix("worker.yaml:2:"), notDuration)
    let unknown = error("dashboard:\n  sample_intervall_ms: 1s\n")
    XCTAssertTrue(unknown.hasPrefix("worker.yaml:2:"), unknown)
    XCTAssertTrue(unknown.contains("sample_interval_ms"), "did you mean: \(unknown)")
  }
}
