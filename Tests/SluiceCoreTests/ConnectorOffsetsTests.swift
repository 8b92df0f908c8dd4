import Foundation
import XCTest

@testable import SluiceCore

/// KIP-875's JSON shapes: values keep 64-bit integers, `"offset": null` round-trips, sinks'
/// topic-partition entries parse with errors that name the problem, and a source's default
/// shape is its committed position.
final class ConnectorOffsetsShapeTests: XCTestCase {
  func testLargeIntegersStayExact() throws {
    let text = #"{"offsets":[{"partition":{},"offset":{"lsn":9007199254740993,"x":1.5,"s":"a"}}]}"#
    let parsed = try JSONDecoder().decode(ConnectorOffsets.self, from: Data(text.utf8))
    let offset = try XCTUnwrap(parsed.offsets.first?.offset)
    XCTAssertEqual(offset["lsn"], .int(9_007_199_254_740_993))
    XCTAssertEqual(offset["x"], .double(1.5))
    XCTAssertEqual(offset["s"], .string("a"))
    let again = try JSONDecoder().decode(
      ConnectorOffsets.self, from: try JSONEncoder().encode(parsed))
    XCTAssertEqual(again, parsed)
  }

  func testNullOffsetIsWrittenOutAndMissingPartitionIsAnError() throws {
    let entry = ConnectorOffset(partition: ["kafka_topic": .string("t")], offset: nil)
    let json = String(decoding: try JSONEncoder().encode(entry), as: UTF8.self)
    XCTAssertTrue(json.contains(#""offset":null"#), json)
    let decoded = try JSONDecoder().decode(
      ConnectorOffset.self, from: Data(#"{"partition":{"a":1},"offset":null}"#.utf8))
    XCTAssertNil(decoded.offset)
    XCTAssertThrowsError(
      try JSONDecoder().decode(ConnectorOffset.self, from: Data(#"{"offset":{}}"#.utf8)))
  }

  func testSinkEntriesAreSortedInKafkaConnectsShape() throws {
    let entries = SinkOffsetShape.entries([
      TopicPartition("b", 0): 7, TopicPartition("a", 1): 3, TopicPartition("a", 0): 0,
    ])
    XCTAssertEqual(
      entries.map {
        "\($0.partition["kafka_topic"]!.jsonText)/\($0.partition["kafka_partition"]!.jsonText)=\($0.offset!["kafka_offset"]!.jsonText)"
      },
      [#""a"/0=0"#, #""a"/1=3"#, #""b"/0=7"#])
  }

  func testSinkPatchParsesOffsetsAndRemovals() throws {
    let parsed = try SinkOffsetShape.parse([
      ConnectorOffset(
        partition: ["kafka_topic": .string("t"), "kafka_partition": .int(1)],
        offset: ["kafka_offset": .int(42)]),
      ConnectorOffset(
        partition: ["kafka_topic": .string("t"), "kafka_partition": .int(0)], offset: nil),
    ])
    XCTAssertEqual(parsed[TopicPartition("t", 1)], .some(42))
    XCTAssertEqual(parsed[TopicPartition("t", 0)], .some(nil))
  }

  func testSinkPatchErrorsNameTheProblem() {
    let cases: [(ConnectorOffset, String)] = [
      (.init(partition: ["kafka_partition": .int(0)], offset: [:]), "kafka_topic"),
      (.init(partition: ["kafka_topic": .string("t")], offset: [:]), "kafka_partition"),
      (
        .init(
          partition: ["kafka_topic": .string("t"), "kafka_partition": .int(-1)],
          offset: ["kafka_offset": .int(0)]), "negative"
      ),
      (
        .init(
          partition: ["kafka_topic": .string("t"), "kafka_partition": .int(0)],
          offset: ["kafka_offset": .string("5")]), "kafka_offset"
      ),
      (
        .init(
          partition: ["kafka_topic": .string("t"), "kafka_partition": .int(0)],
          offset: ["kafka_offset": .int(-3)]), "negative"
      ),
      (
        .init(
          partition: ["kafka_topic": .string("t"), "kafka_partition": .int(0), "x": .null],
          offset: ["kafka_offset": .int(1)]), "unknown key \"x\""
      ),
    ]
    for (entry, expected) in cases {
      XCTAssertThrowsError(try SinkOffsetShape.parse([entry])) { error in
        XCTAssertTrue("\(error)".contains(expected), "\(error) should mention \(expected)")
      }
    }
  }

  func testDefaultSourceShapeIsTheCommittedPosition() async throws {
    let connector = PlainSource()
    let shown = try await connector.offsets(committed: SourcePosition("0000000A"))
    XCTAssertEqual(
      shown, [ConnectorOffset(partition: [:], offset: ["position": .string("0000000A")])])
    let none = try await connector.offsets(committed: nil)
    XCTAssertEqual(none, [])
    let change = try await connector.alterOffsets(shown, committed: nil)
    XCTAssertEqual(change, .commit(SourcePosition("0000000A")))
    let cleared = try await connector.alterOffsets(
      [ConnectorOffset(partition: [:], offset: nil)], committed: nil)
    XCTAssertEqual(cleared, .clear)
    let reset = try await connector.resetOffsets(committed: SourcePosition("1"))
    XCTAssertEqual(reset, .clear)
    do {
      _ = try await connector.alterOffsets(
        [ConnectorOffset(partition: ["file": .string("x")], offset: ["position": .string("1")])],
        committed: nil)
      XCTFail("a partition the connector does not have is refused")
    } catch let error as ConnectorOffsetsError {
      XCTAssertTrue(error.message.contains("partition"), error.message)
    }
  }

  func testFileOffsetStoreForgetsOnlyTheSourcePosition() async throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
      "offsets-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: directory) }
    let store = try FileOffsetStore(directory: directory.path)
    try await store.commitSourcePosition(SourcePosition("5"), connector: "c")
    try await store.commitSinkOffsets([TopicPartition("t", 0): 9], connector: "c")
    try await store.clearSourcePosition(connector: "c")
    let reopened = try FileOffsetStore(directory: directory.path)
    let position = try await reopened.sourcePosition(connector: "c")
    XCTAssertNil(position)
    let sink = try await reopened.sinkOffsets(connector: "c")
    XCTAssertEqual(sink, [TopicPartition("t", 0): 9])
  }
}

private struct PlainSource: SourceConnector {
  func makeTask(index: Int, count: Int, context: any SourceTaskContext) throws -> any SourceTask {
    fatalError("not run")
  }
}
