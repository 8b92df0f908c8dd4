import Foundation
import SluiceCore
import XCTest

/// Each kind of config error, with the exact `file:line:column` a user would jump to.
final class ConfigTests: XCTestCase {
  private func connectorError(_ text: String, environment: [String: String] = [:]) -> String {
    do {
      _ = try ConnectorDefinition.parse(text: text, file: "c.yaml", environment: environment)
      return "no error"
    } catch {
      return error.description
    }
  }

  private func workerError(_ text: String, environment: [String: String] = [:]) -> String {
    do {
      _ = try WorkerConfig.parse(text: text, file: "worker.yaml", environment: environment)
      return "no error"
    } catch {
      return error.description
    }
  }

  func testYAMLSyntaxErrorHasItsPosition() {
    XCTAssertEqual(
      workerError("data_dir: data\napi: { listen: 127.0.0.1:8083\nlog: {}\n"),
      "worker.yaml:3:4: invalid YAML: did not find expected ',' or '}' (while parsing a flow mapping)"
    )
  }

  func testMetricsSwitchDefaultsOnAndRejectsANonBoolean() throws {
    XCTAssertTrue(try WorkerConfig.parse(text: "data_dir: d\n", file: "worker.yaml").metrics)
    XCTAssertFalse(try WorkerConfig.parse(text: "metrics: false\n", file: "worker.yaml").metrics)
    XCTAssertEqual(
      workerError("data_dir: d\nmetrics: sometimes\n"),
      "worker.yaml:2:10: metrics: expected true or false, got 'sometimes'")
  }

  func testUnknownKeyPointsAtTheKeyWithDidYouMean() {
    XCTAssertEqual(
      workerError("data_dir: data\nlog:\n  partitons: 3\n"),
      "worker.yaml:3:3: log.partitons: unknown key 'partitons'; did you mean 'partitions'?")
  }

  func testUnknownKeyWithoutACloseMatchListsTheKnownOnes() {
    XCTAssertEqual(
      workerError("api:\n  port: 1\n"),
      "worker.yaml:2:3: api.port: unknown key 'port'; expected one of: listen, auth, tls, allow_unauthenticated"
    )
  }

  func testWrongTypesAndBadValues() {
    XCTAssertEqual(
      workerError("log: { partitions: many }\n"),
      "worker.yaml:1:20: log.partitions: expected an integer, got 'many'")
    XCTAssertEqual(
      workerError("log:\n  segment_bytes: 12 apples\n"),
      "worker.yaml:2:18: log.segment_bytes: expected a size like 256MiB, got '12 apples'")
    XCTAssertEqual(
      workerError("log:\n  fsync: bach\n"),
      "worker.yaml:2:10: log.fsync: expected one of batch, interval, none, got 'bach'; did you mean 'batch'?"
    )
    XCTAssertEqual(
      workerError("log:\n  segment_ms: soon\n"),
      "worker.yaml:2:15: log.segment_ms: expected a duration like 500ms, 10s, 5m, 24h or 7d, got 'soon'"
    )
    XCTAssertEqual(
      workerError("api: { listen: localhost }\n"),
      "worker.yaml:1:16: api.listen: expected host:port like 127.0.0.1:8083, got 'localhost'")
    XCTAssertEqual(
      workerError("log: [1, 2]\n"),
      "worker.yaml:1:6: log: expected a mapping (key: value), got a list")
  }

  func testMissingRequiredKeyPointsAtTheMapping() {
    XCTAssertEqual(
      connectorError("source: file\ntopic: t\n"), "c.yaml:1:1: missing required key 'name'")
    XCTAssertEqual(
      connectorError("name: x\nsink: file\n"),
      "c.yaml:1:1: missing required key 'topics' (the topics this sink reads)")
  }

  func testSourceAndSinkTogetherIsAnError() {
    XCTAssertEqual(
      connectorError("name: x\nsource: file\nsink: file\ntopic: t\n"),
      "c.yaml:1:1: a connector file needs exactly one of 'source' or 'sink'")
  }

  func testNestedKeyPathsInConfigAndLists() throws {
    let definition = try ConnectorDefinition.parse(
      text: "name: x\nsource: file\ntopic: t\nconfig:\n  tables:\n    - a\n    - [b]\n",
      file: "c.yaml", environment: [:])
    let m = try definition.config.mapping(allowedKeys: ["tables"])
    XCTAssertThrowsError(try m.stringList("tables")) { error in
      XCTAssertEqual("\(error)", "c.yaml:7:7: config.tables[1]: expected a string, got a list")
    }
    XCTAssertEqual(
      connectorError("name: x\nsink: file\ntopics: [ok, \"bad topic\"]\n"),
      "c.yaml:3:14: topics[1]: ' ' is not allowed; use letters, digits, '.', '_' and '-'")
  }

  func testEnvironmentAndFileInterpolation() throws {
    let secret = FileManager.default.temporaryDirectory.appendingPathComponent(
      "sluice-secret-\(UUID().uuidString)")
    try "s3cret\n".write(to: secret, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(at: secret) }
    let text = """
      name: x
      sink: file
      topics: [t]
      config:
        a: ${env:PGPASSWORD}
        b: ${env:MISSING:-fallback}
        c: pre-${file:\(secret.path)}-post
        d: $${env:NOT_EXPANDED}
        e: ${env:TWICE}
      """
    // `${file:}` reads beside the config file by default (ConfigSafetyTests has the rule).
    let file = secret.deletingLastPathComponent().appendingPathComponent("c.yaml").path
    let definition = try ConnectorDefinition.parse(
      text: text, file: file, environment: ["PGPASSWORD": "pw", "TWICE": "${env:PGPASSWORD}"])
    let m = try definition.config.mapping(allowedKeys: ["a", "b", "c", "d", "e"])
    XCTAssertEqual(try m.string("a"), "pw")
    XCTAssertEqual(try m.string("b"), "fallback")
    XCTAssertEqual(try m.string("c"), "pre-s3cret-post")
    XCTAssertEqual(try m.string("d"), "${env:NOT_EXPANDED}")
    XCTAssertEqual(try m.string("e"), "${env:PGPASSWORD}", "expanded text is not expanded again")

    XCTAssertEqual(
      connectorError("name: x\nsink: file\ntopics: [t]\nconfig:\n  password: ${env:PGPASSWORD}\n"),
      "c.yaml:5:13: config.password: environment variable PGPASSWORD is not set (give a default with ${env:PGPASSWORD:-value})"
    )
    let missing = FileManager.default.currentDirectoryPath + "/no-such-file"
    XCTAssertTrue(
      connectorError("name: x\nsink: file\ntopics: [t]\nconfig:\n  k: ${file:\(missing)}\n")
        .hasPrefix("c.yaml:5:6: config.k: cannot read \(missing)"))
    XCTAssertEqual(
      connectorError("name: x\nsink: file\ntopics: [t]\nconfig:\n  k: ${vault:x}\n"),
      "c.yaml:5:6: config.k: unknown scheme 'vault' in '${vault:x}'; use env or file")
  }

  func testJSONIsAccepted() throws {
    let definition = try ConnectorDefinition.parse(
      text: #"{"name": "j", "sink": "file", "topics": ["a", "b"], "config": {"path": "/tmp/x"}}"#,
      file: "j.json", environment: [:])
    XCTAssertEqual(definition.name, "j")
    XCTAssertEqual(definition.role, .sink("file"))
    XCTAssertEqual(definition.topics, ["a", "b"])
    XCTAssertEqual(try definition.config.mapping(allowedKeys: ["path"]).string("path"), "/tmp/x")
  }

  func testDuplicateKeyIsAnErrorAtTheSecondOne() {
    XCTAssertEqual(
      connectorError("name: x\nsink: file\ntopics: [t]\nname: y\n"),
      "c.yaml:4:1: name: duplicate key 'name'")
  }

  func testDuplicateConnectorNamesAcrossFiles() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent(
      "sluice-cfg-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    try "name: same\nsink: file\ntopics: [t]\n".write(
      to: dir.appendingPathComponent("a.yaml"), atomically: true, encoding: .utf8)
    try "# second\nname: same\nsource: file\ntopic: t\n".write(
      to: dir.appendingPathComponent("b.yaml"), atomically: true, encoding: .utf8)
    try "name: [\n".write(
      to: dir.appendingPathComponent("c.yml"), atomically: true, encoding: .utf8)
    try "ignored".write(
      to: dir.appendingPathComponent("notes.txt"), atomically: true, encoding: .utf8)
    let loaded = ConnectorDirectory.load(directory: dir.path, environment: [:])
    XCTAssertEqual(loaded.definitions.map(\.name), ["same"])
    XCTAssertEqual(loaded.errors.count, 2)
    XCTAssertEqual(
      loaded.errors.first?.description,
      "\(dir.path)/b.yaml:2:7: name: connector name 'same' is already used by \(dir.path)/a.yaml")
    XCTAssertTrue(
      loaded.errors.last?.description.hasPrefix("\(dir.path)/c.yml:2:1: invalid YAML") ?? false,
      "\(loaded.errors)")
  }

  func testFullWorkerAndConnectorFilesParse() throws {
    let worker = try WorkerConfig.parse(
      text: """
        data_dir: /var/lib/sluice
        connectors_dir: /etc/sluice/connectors
        api: { listen: 0.0.0.0:9000, allow_unauthenticated: true }
        log: { partitions: 4, segment_bytes: 64MiB, retention_hours: 24, retention_bytes: 1GiB, fsync: interval, fsync_interval_ms: 250, max_record_bytes: 2MiB, compression: lz4 }
        """, file: "w.yaml", environment: [:])
    XCTAssertEqual(worker.dataDir, "/var/lib/sluice")
    XCTAssertEqual(worker.api.port, 9000)
    guard case .embedded(let log) = worker.store else { return XCTFail("\(worker.store)") }
    XCTAssertEqual(log.partitions, 4)
    XCTAssertEqual(log.segmentBytes, 64 << 20)
    XCTAssertEqual(log.retention, .seconds(24 * 3_600))
    XCTAssertEqual(log.retentionBytes, 1 << 30)
    XCTAssertEqual(log.fsync, .interval)
    XCTAssertEqual(log.maxRecordBytes, 2 << 20)
    XCTAssertEqual(log.compression, .lz4)

    let sink = try ConnectorDefinition.parse(
      text: """
        name: orders-to-warehouse
        sink: postgres
        topics: [shop.public.orders]
        tasks: 2
        config:
          url: postgresql://loader@127.0.0.1:5432/warehouse
        errors: { tolerance: all, dlq_topic: orders.dlq, retries: 3 }
        """, file: "s.yaml", environment: [:])
    XCTAssertEqual(sink.role, .sink("postgres"))
    XCTAssertEqual(sink.tasks, 2)
    XCTAssertEqual(sink.sinkErrorPolicy.tolerateAll, true)
    XCTAssertEqual(sink.sinkErrorPolicy.deadLetterTopic, "orders.dlq")
    XCTAssertEqual(sink.sinkErrorPolicy.retries, 3)
  }

  func testLogCompressionDefaultsToNoneAndAnUnknownCodecIsAnErrorAtItsLine() throws {
    let plain = try WorkerConfig.parse(
      text: "data_dir: /d\nconnectors_dir: /c\n", file: "w.yaml", environment: [:])
    guard case .embedded(let log) = plain.store else { return XCTFail("\(plain.store)") }
    XCTAssertEqual(log.compression, CompressionType.none)
    XCTAssertThrowsError(
      try WorkerConfig.parse(
        text: "data_dir: /d\nconnectors_dir: /c\nlog:\n  compression: lz5\n", file: "w.yaml",
        environment: [:])
    ) { error in
      let text = "\(error)"
      XCTAssertTrue(text.contains("w.yaml:4"), text)
      XCTAssertTrue(text.contains("none, gzip, snappy, lz4, zstd"), text)
      XCTAssertTrue(text.contains("did you mean 'lz4'"), text)
    }
  }

  func testDidYouMeanDistance() {
    XCTAssertEqual(DidYouMean.distance("partitons", "partitions"), 1)
    XCTAssertEqual(DidYouMean.distance("fsnyc", "fsync"), 1, "a swap counts once")
    XCTAssertNil(DidYouMean.suggestion(for: "zzz", among: ["listen"]))
  }
}
