import SluiceCore
import XCTest

/// The small Prometheus text-format reader ``MetricsHistory`` reads `GET /metrics` with.
final class ExpositionParserTests: XCTestCase {
  func testReadsCountersGaugesAndSkipsComments() {
    let text = """
      # HELP sluice_source_records_total Records written.
      # TYPE sluice_source_records_total counter
      sluice_source_records_total{connector="in",task="0"} 42
      sluice_source_records_total{connector="in",task="1"} 8
      # TYPE sluice_sink_lag_records gauge
      sluice_sink_lag_records{connector="out",topic="t",partition="0"} 3.5

      up 1
      """
    let samples = ExpositionParser.samples(in: text)
    XCTAssertEqual(
      samples,
      [
        ExpositionSample(
          name: "sluice_source_records_total", labels: ["connector": "in", "task": "0"], value: 42),
        ExpositionSample(
          name: "sluice_source_records_total", labels: ["connector": "in", "task": "1"], value: 8),
        ExpositionSample(
          name: "sluice_sink_lag_records",
          labels: ["connector": "out", "topic": "t", "partition": "0"], value: 3.5),
        ExpositionSample(name: "up", value: 1),
      ])
  }

  func testOnlyTheNamedFamiliesAreRead() {
    let text = """
      a_total{x="1"} 1
      a_total_bucket{le="1"} 2
      b 3
      """
    let samples = ExpositionParser.samples(in: text, names: ["a_total"])
    XCTAssertEqual(samples.map(\.name), ["a_total"], "a histogram's _bucket is another name")
    XCTAssertEqual(ExpositionParser.samples(in: text, names: ["missing"]), [])
  }

  func testLabelEscapesSpacesAndTrailingComma() {
    let text = #"m{path="C:\\dir",quote="say \"hi\"",nl="a\nb", spaced = "v" ,} 7 1700000000000"#
    let sample = ExpositionParser.samples(in: text).first
    XCTAssertEqual(sample?.labels["path"], #"C:\dir"#)
    XCTAssertEqual(sample?.labels["quote"], #"say "hi""#)
    XCTAssertEqual(sample?.labels["nl"], "a\nb")
    XCTAssertEqual(sample?.labels["spaced"], "v")
    XCTAssertEqual(sample?.value, 7, "the timestamp after the value is not the value")
  }

  func testSpecialValuesAndExponents() {
    let text = """
      a +Inf
      b -Inf
      c NaN
      d 1.5e3
      """
    let values = ExpositionParser.samples(in: text).map(\.value)
    XCTAssertEqual(values[0], .infinity)
    XCTAssertEqual(values[1], -.infinity)
    XCTAssertTrue(values[2].isNaN)
    XCTAssertEqual(values[3], 1500)
  }

  func testUnreadableLinesAreSkippedNotFatal() {
    let text = """
      broken{a="1" 5
      novalue{a="1"}
      nan_text xyz
      good{a="1"} 2
      """
    XCTAssertEqual(ExpositionParser.samples(in: text).map(\.name), ["good"])
  }
}
