import FileConnector
import Foundation
import HTTPSinkConnector
import MQTTConnector
import PostgresCDCConnector
import PostgresSinkConnector
import SluiceCore
import WebhookConnector
import XCTest

/// Every built-in connector type as a Kafka Connect plugin: its key definitions, and the round
/// trip of every example file through the flat form (YAML → flat map → YAML text → flat map →
/// definition) to an equal definition that the connector accepts.
final class ConnectorPluginTests: XCTestCase {
  /// The same table `sluice` registers (Sources/sluice/BuiltInConnectors.swift).
  private var registry: ConnectorRegistry {
    var registry = ConnectorRegistry()
    FileConnectors.register(in: &registry)
    WebhookConnectors.register(in: &registry)
    PostgresSinkConnectors.register(in: &registry)
    HTTPSinkConnectors.register(in: &registry)
    MQTTConnectors.register(in: &registry)
    PostgresCDCConnectors.register(in: &registry)
    return registry
  }

  private var repository: URL {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent()
  }

  /// Every `${env:NAME}` of `text` set to `value-of-NAME`.
  private func environment(for text: String) -> [String: String] {
    var environment: [String: String] = [:]
    var rest = Substring(text)
    while let start = rest.range(of: "${env:") {
      rest = rest[start.upperBound...]
      let name = rest.prefix { $0.isLetter || $0.isNumber || $0 == "_" }
      // A reference with a default keeps its default, which is a valid value.
      if !rest.dropFirst(name.count).hasPrefix(":-") {
        environment[String(name)] = "value-of-\(name)"
      }
    }
    return environment
  }

  func testEveryExampleFileRoundTripsThroughTheFlatForm() throws {
    var files: [URL] = []
    for folder in ["Config/examples", "Config/connectors"] {
      let url = repository.appendingPathComponent(folder)
      files += try FileManager.default.contentsOfDirectory(at: url, includingPropertiesForKeys: nil)
        .filter { $0.pathExtension == "yaml" }
    }
    var types: Set<String> = []
    for file in files.sorted(by: { $0.path < $1.path }) {
      let text = try String(contentsOf: file, encoding: .utf8)
      let interpolation = Interpolation(environment: environment(for: text))
      let original = try ConnectorDefinition.parse(
        text: text, file: file.path, interpolation: interpolation, registry: registry)
      let flat = original.connectConfig
      let className = try XCTUnwrap(flat.connectorClass)
      XCTAssertTrue(className.hasPrefix("sluice.source.") || className.hasPrefix("sluice.sink."))
      types.insert(className)

      // As the REST API would keep it, and read back.
      let kept = try ConnectConfigFile.parse(
        text: flat.yamlText(name: original.name), file: "kept.yaml")
      XCTAssertEqual(kept.config, flat, file.lastPathComponent)

      let back = try registry.definition(
        name: original.name, config: kept.config, file: "kept.yaml", interpolation: interpolation)
      XCTAssertEqual(back.name, original.name, file.lastPathComponent)
      XCTAssertEqual(back.role, original.role, file.lastPathComponent)
      XCTAssertEqual(back.topic, original.topic, file.lastPathComponent)
      XCTAssertEqual(back.topics, original.topics, file.lastPathComponent)
      XCTAssertEqual(back.tasks, original.tasks, file.lastPathComponent)
      XCTAssertEqual(back.sinkErrorPolicy, original.sinkErrorPolicy, file.lastPathComponent)
      XCTAssertEqual(
        back.deadLetterTopicIsExplicit, original.deadLetterTopicIsExplicit, file.lastPathComponent)
      XCTAssertEqual(back.config.outline, original.config.outline, file.lastPathComponent)
      XCTAssertNoThrow(try registry.instantiate(original), file.lastPathComponent)
      XCTAssertNoThrow(try registry.instantiate(back), file.lastPathComponent)
      XCTAssertEqual(back.connectConfig, flat)
    }
    // Every built-in type has an example.
    XCTAssertEqual(
      types,
      Set(
        registry.sourceTypes.map { "sluice.source.\($0)" }
          + registry.sinkTypes.map { "sluice.sink.\($0)" }))
  }

  /// A connector's keys are declared once (its definitions) and read by name: every key its
  /// parser looks up is declared (else a file could not set it: it would be an unknown key), and
  /// every declared key is looked up (else it would be accepted and silently ignored). Checked
  /// over the example files, whose parsers record what they read.
  func testEveryConnectorReadsExactlyTheKeysItDeclares() throws {
    let registry = self.registry
    var read: [String: Set<String>] = [:]
    for folder in ["Config/examples", "Config/connectors"] {
      let url = repository.appendingPathComponent(folder)
      for file in try FileManager.default.contentsOfDirectory(
        at: url, includingPropertiesForKeys: nil
      ) where file.pathExtension == "yaml" {
        let text = try String(contentsOf: file, encoding: .utf8)
        let definition = try ConnectorDefinition.parse(
          text: text, file: file.path,
          interpolation: Interpolation(environment: environment(for: text)), registry: registry)
        _ = try registry.instantiate(definition)
        guard let className = definition.connectConfig.connectorClass,
          className.hasPrefix("sluice.")
        else { continue }
        read[className, default: []].formUnion(definition.configKeysRead.all)
      }
    }
    let native = registry.plugins.filter { $0.className.hasPrefix("sluice.") }
    XCTAssertEqual(Set(read.keys), Set(native.map(\.className)))
    for plugin in native {
      let declared = Set(plugin.connectorDefinitions.topLevelKeys)
      let looked = read[plugin.className] ?? []
      XCTAssertEqual(looked.subtracting(declared), [], "\(plugin.className) reads undeclared keys")
      XCTAssertEqual(declared.subtracting(looked), [], "\(plugin.className) never reads these")
    }
  }

  func testEveryPluginDescribesItsKeys() throws {
    let registry = self.registry
    XCTAssertEqual(
      Set(registry.plugins.map(\.className)),
      [
        "sluice.source.file", "sluice.sink.file", "sluice.source.webhook", "sluice.sink.postgres",
        "sluice.sink.http", "sluice.source.mqtt", "sluice.source.postgres-cdc",
        "org.apache.kafka.connect.file.FileStreamSourceConnector",
        "org.apache.kafka.connect.file.FileStreamSinkConnector",
        "io.confluent.connect.jdbc.JdbcSinkConnector",
        "io.debezium.connector.jdbc.JdbcSinkConnector",
        "io.confluent.connect.http.HttpSinkConnector",
        "io.aiven.kafka.connect.http.HttpSinkConnector",
        "io.debezium.connector.postgresql.PostgresConnector",
      ])
    for plugin in registry.plugins {
      XCTAssertFalse(plugin.connectorDefinitions.isEmpty, plugin.className)
      XCTAssertEqual(plugin.version, SluiceVersion.current)
      var names: Set<String> = []
      for definition in plugin.definitions {
        XCTAssertTrue(
          names.insert(definition.name).inserted, "\(plugin.className): \(definition.name) twice")
        XCTAssertFalse(definition.documentation.isEmpty, "\(plugin.className): \(definition.name)")
        XCTAssertFalse(definition.group.isEmpty)
        XCTAssertGreaterThan(definition.orderInGroup, 0)
      }
      for common in [
        "name", "connector.class", "tasks.max", "errors.tolerance", "key.converter", "transforms",
      ] {
        XCTAssertTrue(names.contains(common), "\(plugin.className) lacks \(common)")
      }
      XCTAssertTrue(names.contains(plugin.type == .source ? "topic" : "topics"), plugin.className)
    }
    let cdc = try XCTUnwrap(registry.plugin(named: "postgres-cdc"))
    XCTAssertEqual(
      cdc.connectorDefinitions.map(\.name),
      [
        "url", "password", "tables", "slot", "publication", "snapshot", "snapshot_max_threads",
        "heartbeat_ms",
        "drop_slot_on_delete", "tombstones_on_delete", "slot_warn_retained_wal",
        "slot_fail_retained_wal", "slot_health_poll_ms", "replay_window", "decimal_handling",
        "time_precision", "interval_handling", "binary_handling", "hstore_handling",
        "provide_transaction_metadata", "transaction_topic", "heartbeat_topic", "schemas",
        "signal_data_collection", "incremental_chunk_size",
      ])
    XCTAssertEqual(cdc.connectorDefinitions.first { $0.name == "password" }?.type, .password)
  }

  func testAnUnknownKeyOfEveryTypeIsAnErrorWithDidYouMean() {
    let registry = self.registry
    for plugin in registry.plugins where plugin.className.hasPrefix("sluice.") {
      let first = plugin.connectorDefinitions[0].name
      var config = ConnectConfig(["connector.class": plugin.className])
      config[first + "x"] = "1"
      do {
        _ = try registry.definition(
          name: "n", config: config, file: "n.json", interpolation: Interpolation(environment: [:]))
        XCTFail("\(plugin.className) took an unknown key")
      } catch {
        XCTAssertEqual(error.key, first + "x")
        XCTAssertTrue(error.message.contains("did you mean '\(first)'?"), error.message)
      }
    }
  }

  func testValidateRunsTheConnectorsOwnChecksOnNestedKeys() {
    let infos = registry.validate(
      config: ConnectConfig([
        "connector.class": "sluice.sink.http", "name": "h", "topics": "t",
        "url": "ftp://nowhere", "batch.max_records": "10", "retry.max_attempts": "3",
      ]), interpolation: Interpolation(environment: [:]))
    XCTAssertEqual(
      infos.errors(of: "url"), ["expected an http:// or https:// URL, got 'ftp://nowhere'"])
    XCTAssertEqual(infos.errorCount, 1)
    let batch = registry.validate(
      config: ConnectConfig([
        "connector.class": "sluice.sink.http", "name": "h", "topics": "t",
        "url": "http://x/", "batch.format": "xml",
      ]), interpolation: Interpolation(environment: [:]))
    XCTAssertEqual(
      batch.errors(of: "batch.format"), ["Invalid value 'xml': expected one of json_array, ndjson"])
  }
}
