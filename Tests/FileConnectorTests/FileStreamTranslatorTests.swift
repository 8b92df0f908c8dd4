import Foundation
import SluiceCore
import XCTest

@testable import FileConnector

/// Kafka's own FileStream connector configs (`config/connect-file-source.properties` and
/// `connect-file-sink.properties`) run as Sluice's `file` source and sink.
final class FileStreamTranslatorTests: XCTestCase {
  private var registry: ConnectorRegistry {
    var registry = ConnectorRegistry()
    FileConnectors.register(in: &registry)
    return registry
  }

  func testKafkasFileSourcePropertiesBecomeAFileSource() throws {
    let definition = try ConnectorDefinition.parse(
      text: """
        name=local-file-source
        connector.class=FileStreamSource
        tasks.max=1
        file=test.txt
        topic=connect-test
        """, file: "connect-file-source.properties",
      interpolation: Interpolation(environment: [:]), registry: registry)
    XCTAssertEqual(definition.role, .source("file"))
    XCTAssertEqual(definition.topic, "connect-test")
    XCTAssertEqual(definition.config.outline, "{path: 'test.txt', batch_lines: '2000'}")
    let connector = try FileSourceConnector(definition: definition)
    XCTAssertEqual(connector.config.path, "test.txt")
    XCTAssertEqual(connector.config.batchLines, 2000)
    XCTAssertFalse(connector.config.startAtEnd)
  }

  func testKafkasFileSinkPropertiesBecomeAValueLineSink() throws {
    let definition = try ConnectorDefinition.parse(
      text: """
        name=local-file-sink
        connector.class=org.apache.kafka.connect.file.FileStreamSinkConnector
        tasks.max=1
        file=test.sink.txt
        topics=connect-test
        value.converter=org.apache.kafka.connect.storage.StringConverter
        """, file: "connect-file-sink.properties",
      interpolation: Interpolation(environment: [:]), registry: registry)
    XCTAssertEqual(definition.role, .sink("file"))
    XCTAssertEqual(definition.topics, ["connect-test"])
    let connector = try FileSinkConnector(definition: definition)
    XCTAssertEqual(connector.config.path, "test.sink.txt")
    // Kafka's sink writes each value as a line.
    XCTAssertEqual(connector.config.format, .value)
  }

  func testErrorsNameTheKeyAndLine() {
    func failure(_ text: String) -> String {
      do {
        _ = try ConnectorDefinition.parse(
          text: text, file: "f.properties", interpolation: Interpolation(environment: [:]),
          registry: registry)
        return "no error"
      } catch {
        return "\(error)"
      }
    }
    XCTAssertEqual(
      failure("name=a\nconnector.class=FileStreamSource\ntopic=t\n"),
      "f.properties:2:1: file: Missing required configuration \"file\" which has no default value.")
    XCTAssertEqual(
      failure("name=a\nconnector.class=FileStreamSource\nfile=x\ntopic=t\nbatch.size=0\n"),
      "f.properties:5:1: batch.size: expected an integer from 1 to 100000, got '0'")
    XCTAssertEqual(
      failure(
        "name=a\nconnector.class=FileStreamSink\nfile=x\ntopics=t\nvalue.converter=org.apache.kafka.connect.json.JsonConverter\n"
      ),
      "f.properties:5:1: value.converter: org.apache.kafka.connect.file.FileStreamSinkConnector in Sluice works with org.apache.kafka.connect.storage.StringConverter; 'org.apache.kafka.connect.json.JsonConverter' is not built"
    )
    XCTAssertEqual(
      failure("connector.class=FileStreamSink\nfile=x\ntopics=t\n"),
      "f.properties:1:1: name: Missing required configuration \"name\" which has no default value.")
  }
}
