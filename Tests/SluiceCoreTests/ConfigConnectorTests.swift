import Foundation
import SluiceCore
import XCTest

/// Connector files: the shared frame (name, role, topics, tasks, errors), the raw `config:` node,
/// and a folder of them.
final class ConfigConnectorTests: XCTestCase {
  func testSourceFileFromTheDesign() throws {
    let text = """
      # Config/examples/shop-cdc.yaml — a source: `source: <type>`
      name: shop-cdc
      source: postgres-cdc
      topic: "shop.{schema}.{table}"
      config:
        url: postgresql://sluice@127.0.0.1:5432/shop
        password: ${env:PGPASSWORD}
        tables: [public.orders, public.customers]
        snapshot: initial
      """
    let source = try ConnectorDefinition.parse(
      text: text, file: "shop-cdc.yaml", environment: ["PGPASSWORD": "pw"])
    XCTAssertEqual(source.name, "shop-cdc")
    XCTAssertEqual(source.role, .source("postgres-cdc"))
    XCTAssertEqual(source.role.type, "postgres-cdc")
    XCTAssertEqual(source.topic, "shop.{schema}.{table}")
    XCTAssertEqual(source.topics, [])
    XCTAssertEqual(source.tasks, 1)
    XCTAssertEqual(source.errors, .init(connectorName: "shop-cdc"))
    XCTAssertEqual(source.errors.deadLetterTopic, "shop-cdc.dlq")
    XCTAssertEqual(source.file, "shop-cdc.yaml")
    XCTAssertEqual(try source.requiredTopicNode().line, 4)
    XCTAssertEqual(source.typeNode.line, 3)

    let config = try source.configMapping(allowedKeys: [
      "url", "password", "tables", "snapshot", "slot",
    ])
    XCTAssertEqual(try config.string("password"), "pw")
    XCTAssertEqual(try config.stringList("tables"), ["public.orders", "public.customers"])
    XCTAssertEqual(
      try config.oneOf("snapshot", allowed: ["initial", "never"], default: "initial"), "initial")
  }

  func testSinkFileFromTheDesign() throws {
    let text = """
      name: orders-to-warehouse
      sink: postgres
      topics: [shop.public.orders]
      config:
        url: postgresql://loader@127.0.0.1:5432/warehouse
        mode: upsert
      errors: { tolerance: all, dlq_topic: orders.dlq }
      """
    let sink = try ConnectorDefinition.parse(text: text, file: "sink.yaml", environment: [:])
    XCTAssertEqual(sink.role, .sink("postgres"))
    XCTAssertEqual(sink.topics, ["shop.public.orders"])
    XCTAssertNil(sink.topic)
    XCTAssertEqual(sink.errors.tolerance, .all)
    XCTAssertTrue(sink.errors.toleratesAll)
    XCTAssertEqual(sink.errors.deadLetterTopic, "orders.dlq")
    XCTAssertEqual(sink.errors.retries, 5)
    XCTAssertEqual(sink.errors.retryBackoffMs, 100)
    XCTAssertEqual(sink.errors.maxRetryBackoffMs, 10_000)
    XCTAssertEqual(try sink.configMapping(allowedKeys: ["url", "mode"]).string("mode"), "upsert")
  }

  func testErrorsSectionAndTasks() throws {
    let sink = try ConnectorDefinition.parse(
      text: """
        name: s
        sink: http
        topics: t
        tasks: 3
        errors:
          retries: 0
          retry_backoff_ms: 1s
          max_retry_backoff_ms: 1m
        """, file: "s.yaml", environment: [:])
    XCTAssertEqual(sink.topics, ["t"])
    XCTAssertEqual(sink.tasks, 3)
    XCTAssertEqual(
      sink.errors,
      .init(
        connectorName: "s", tolerance: .none, deadLetterTopic: "s.dlq", retries: 0,
        retryBackoffMs: 1000, maxRetryBackoffMs: 60_000))
    XCTAssertEqual(
      ConfigTestSupport.connectorError(
        "name: x\nsink: file\ntopics: [t]\nerrors: { tolerance: some }\n"),
      "c.yaml:4:22: errors.tolerance: expected one of none, all, got 'some'")
    XCTAssertEqual(
      ConfigTestSupport.connectorError(
        "name: x\nsink: file\ntopics: [t]\nerrors: { retry_backoff_ms: 2s, max_retry_backoff_ms: 1s }\n"
      ),
      "c.yaml:4:55: errors.max_retry_backoff_ms: max_retry_backoff_ms (1000ms) is less than retry_backoff_ms (2000ms)"
    )
    XCTAssertEqual(
      ConfigTestSupport.connectorError("name: x\nsink: file\ntopics: [t]\ntasks: 0\n"),
      "c.yaml:4:8: tasks: expected an integer of at least 1, got 0")
  }

  func testBothSourceAndSinkIsAnError() {
    XCTAssertEqual(
      ConfigTestSupport.connectorError("name: x\nsource: file\nsink: file\ntopic: t\n"),
      "c.yaml:3:1: sink: a connector file needs exactly one of 'source' or 'sink'")
    XCTAssertEqual(
      ConfigTestSupport.connectorError("name: x\ntopic: t\n"),
      "c.yaml:1:1: a connector file needs exactly one of 'source' or 'sink'")
  }

  func testTopicAndTopicsBelongToTheirRole() {
    XCTAssertEqual(
      ConfigTestSupport.connectorError("name: x\nsink: file\n"),
      "c.yaml:1:1: missing required key 'topics'")
    XCTAssertEqual(
      ConfigTestSupport.connectorError("name: x\nsource: file\n"),
      "c.yaml:1:1: missing required key 'topic'")
    XCTAssertEqual(
      ConfigTestSupport.connectorError("name: x\nsink: file\ntopics: [a]\ntopic: b\n"),
      "c.yaml:4:1: topic: a sink reads a list of 'topics', not 'topic'")
    XCTAssertEqual(
      ConfigTestSupport.connectorError("name: x\nsource: file\ntopic: a\ntopics: [b]\n"),
      "c.yaml:4:1: topics: a source writes to one 'topic' (a template), not 'topics'")
    XCTAssertEqual(
      ConfigTestSupport.connectorError("name: x\nsink: file\ntopics: [ok, \"bad topic\"]\n"),
      "c.yaml:3:14: topics[1]: ' ' is not allowed in a topic name; use letters, digits, '.', '_' and '-'"
    )
    XCTAssertEqual(
      ConfigTestSupport.connectorError("name: x\nsink: file\ntopics: []\n"),
      "c.yaml:3:9: topics: expected at least one topic")
  }

  func testConnectorNameCharacters() {
    XCTAssertEqual(
      ConfigTestSupport.connectorError("name: my connector\nsink: file\ntopics: [t]\n"),
      "c.yaml:1:7: name: a connector name uses only letters, digits, '.', '_' and '-', got 'my connector'"
    )
  }

  func testUnknownTopLevelKeyHasDidYouMean() {
    XCTAssertEqual(
      ConfigTestSupport.connectorError("name: x\nsink: file\ntopics: [t]\nconfg:\n  a: 1\n"),
      "c.yaml:4:1: confg: unknown key 'confg'; did you mean 'config'?")
  }

  func testNestedKeyPathsInConfig() throws {
    let definition = try ConnectorDefinition.parse(
      text:
        "name: x\nsource: file\ntopic: t\nconfig:\n  tables:\n    - a\n    - [b]\n  retry: { max: lots }\n",
      file: "c.yaml", environment: [:])
    let config = try definition.configMapping(allowedKeys: ["tables", "retry"])
    XCTAssertEqual(
      ConfigTestSupport.error { try config.stringList("tables") },
      "c.yaml:7:7: config.tables[1]: expected a string, got a list")
    XCTAssertEqual(
      ConfigTestSupport.error { try config.mapping("retry", allowedKeys: ["max"]).int("max") },
      "c.yaml:8:17: config.retry.max: expected an integer, got 'lots'")
    XCTAssertEqual(
      ConfigTestSupport.error { try definition.configMapping(allowedKeys: ["table"]) },
      "c.yaml:5:3: config.tables: unknown key 'tables'; did you mean 'table'?")
  }

  func testMissingConfigSectionIsAnEmptyMapping() throws {
    let definition = try ConnectorDefinition.parse(
      text: "name: x\nsink: file\ntopics: [t]\n", file: "c.yaml", environment: [:])
    XCTAssertTrue(definition.config.isNull)
    XCTAssertEqual(
      ConfigTestSupport.error {
        try definition.configMapping(allowedKeys: ["path"]).string("path")
      },
      "c.yaml:1:1: config: missing required key 'path'")
    XCTAssertEqual(
      ConfigTestSupport.connectorError("name: x\nsink: file\ntopics: [t]\nconfig: [a]\n"),
      "c.yaml:4:9: config: expected a mapping (key: value), got a list")
  }

  func testFingerprintFollowsTheText() throws {
    let a = try ConnectorDefinition.parse(
      text: "name: x\nsink: file\ntopics: [t]\n", file: "c.yaml", environment: [:])
    let same = try ConnectorDefinition.parse(
      text: "name: x\nsink: file\ntopics: [t]\n", file: "c.yaml", environment: [:])
    let edited = try ConnectorDefinition.parse(
      text: "name: x\nsink: file\ntopics: [t, u]\n", file: "c.yaml", environment: [:])
    XCTAssertEqual(a.fingerprint, same.fingerprint)
    XCTAssertNotEqual(a.fingerprint, edited.fingerprint)
    XCTAssertEqual(a.fingerprint.count, 16)
  }

  // MARK: - A folder of connector files

  func testDirectoryReportsDuplicateNamesAtTheSecondFilesName() throws {
    let directory = try ConfigTestSupport.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    func write(_ name: String, _ text: String) throws {
      try text.write(to: directory.appendingPathComponent(name), atomically: true, encoding: .utf8)
    }
    try write("a.yaml", "name: same\nsink: file\ntopics: [t]\n")
    try write("b.yaml", "# second\nname:   same\nsource: file\ntopic: t\n")
    try write("c.yml", "name: [\n")
    try write("d.json", #"{"name": "other", "source": "file", "topic": "t"}"#)
    try write("notes.txt", "ignored")
    try write(".hidden.yaml", "ignored")

    let loaded = ConnectorDirectory.load(directory: directory.path, environment: [:])
    XCTAssertEqual(loaded.definitions.map(\.name), ["same", "other"])
    XCTAssertEqual(
      loaded.definitions.map(\.file),
      [
        directory.appendingPathComponent("a.yaml").path,
        directory.appendingPathComponent("d.json").path,
      ])
    XCTAssertEqual(
      loaded.errors.map(\.description),
      [
        "\(directory.path)/b.yaml:2:9: name: connector name 'same' is already used by \(directory.path)/a.yaml",
        "\(directory.path)/c.yml:2:1: invalid YAML: did not find expected node content (while parsing a flow node)",
      ])
  }

  func testDirectoryThatCannotBeRead() {
    let loaded = ConnectorDirectory.load(directory: "/no/such/connectors", environment: [:])
    XCTAssertEqual(loaded.definitions.count, 0)
    XCTAssertEqual(
      loaded.errors.map(\.description),
      ["/no/such/connectors:1:1: cannot read the folder: No such file or directory"])
  }
}
