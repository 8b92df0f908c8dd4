import Foundation
import SluiceCore
import XCTest

/// Kafka Connect's flat config form: reading it from JSON, `.properties` and YAML with the
/// position of every entry, writing it back as YAML, redacting secrets, translating and
/// validating it through a registry.
final class ConnectConfigTests: XCTestCase {
  private func parse(_ text: String, file: String) throws -> ConnectConfigFile {
    try ConnectConfigFile.parse(text: text, file: file)
  }

  private func error(_ text: String, file: String) -> String {
    do {
      _ = try ConnectConfigFile.parse(text: text, file: file)
      return "no error"
    } catch {
      return error.description
    }
  }

  // MARK: - JSON

  func testJSONAsTheRESTAPITakesItKeepsOrderPositionsAndNumbersAsText() throws {
    let file = try parse(
      """
      {
        "name": "inventory",
        "config": {
          "connector.class": "io.debezium.connector.postgresql.PostgresConnector",
          "tasks.max": 1,
          "database.port": "5432",
          "tombstones.on.delete": false,
          "database.password": "${env:PGPASSWORD}"
        }
      }
      """, file: "c.json")
    XCTAssertEqual(file.name, "inventory")
    XCTAssertEqual(file.nameEntry?.line, 2)
    XCTAssertEqual(
      file.config.keys,
      [
        "connector.class", "tasks.max", "database.port", "tombstones.on.delete",
        "database.password",
      ])
    XCTAssertEqual(file.config["tasks.max"], "1")
    XCTAssertEqual(file.config["tombstones.on.delete"], "false")
    // Kept as written: no expansion.
    XCTAssertEqual(file.config["database.password"], "${env:PGPASSWORD}")
    let port = try XCTUnwrap(file.config.entry("database.port"))
    XCTAssertEqual([port.file, "\(port.line)", "\(port.column)"], ["c.json", "6", "5"])
  }

  func testTheBodyOfPOSTConnectorsKeepsItsInitialState() throws {
    let body = try parse(
      #"{"name": "a", "config": {"connector.class": "FileStreamSink"}, "initial_state": "PAUSED"}"#,
      file: "request")
    XCTAssertEqual(body.initialState, "PAUSED")
    XCTAssertEqual(body.config.keys, ["connector.class"])
  }

  func testFlatJSONTakesTheNameFromInsideTheConfig() throws {
    let file = try parse(
      #"{"connector.class": "FileStreamSink", "name": "out", "file": "/tmp/x", "topics": "a,b"}"#,
      file: "flat.json")
    XCTAssertEqual(file.name, "out")
    XCTAssertEqual(file.config.keys, ["connector.class", "name", "file", "topics"])
    XCTAssertTrue(
      ConnectConfigFile.isConnectForm(
        try ConfigNode.parseAsWritten(text: #"{"connector.class": "x"}"#, file: "f.json")))
    XCTAssertFalse(
      ConnectConfigFile.isConnectForm(
        try ConfigNode.parseAsWritten(text: "name: a\nsource: file\n", file: "f.yaml")))
  }

  func testJSONErrorsPointAtTheEntry() {
    XCTAssertEqual(
      error(
        """
        {"name": "x", "config": {
          "connector.class": "FileStreamSink",
          "topics": ["a", "b"]
        }}
        """, file: "list.json"),
      "list.json:3:3: topics: a Kafka Connect config value is a string (lists are comma-separated), got a list"
    )
    XCTAssertEqual(
      error(
        """
        {"name": "x",
         "config": {"connector.class": "FileStreamSink", "name": "y"}}
        """, file: "name.json"),
      "name.json:2:50: name: the config's name 'y' differs from the connector's name 'x'")
    XCTAssertEqual(
      error(#"{"name": "x", "conifg": {}, "config": {"connector.class": "a"}}"#, file: "k.json"),
      "k.json:1:15: conifg: unknown key 'conifg'; did you mean 'config'?")
  }

  // MARK: - Properties

  func testPropertiesFileAsKafkaReadsIt() throws {
    let file = try parse(
      """
      # connect-file-source.properties
      ! another comment
      name=local-file-source
      connector.class : FileStreamSource
        tasks.max 1
      file=/var/log/a\\
          pp.log
      topic=connect\\u002Dtest
      empty=
      path\\=with\\ space=tab\\there
      """, file: "src.properties")
    XCTAssertEqual(file.name, "local-file-source")
    XCTAssertEqual(
      file.config.keys,
      ["name", "connector.class", "tasks.max", "file", "topic", "empty", "path=with space"])
    XCTAssertEqual(file.config["connector.class"], "FileStreamSource")
    XCTAssertEqual(file.config["tasks.max"], "1")
    XCTAssertEqual(file.config["file"], "/var/log/app.log")
    XCTAssertEqual(file.config["topic"], "connect-test")
    XCTAssertEqual(file.config["empty"], "")
    XCTAssertEqual(file.config["path=with space"], "tab\there")
    let tasks = try XCTUnwrap(file.config.entry("tasks.max"))
    XCTAssertEqual([tasks.line, tasks.column], [5, 3])
    XCTAssertEqual(file.config.entry("topic")?.line, 8)
  }

  func testPropertiesDuplicateAndBadEscapeAreLocatedErrors() {
    XCTAssertEqual(
      error("name=a\nfile=x\n\nfile=y\n", file: "d.properties"),
      "d.properties:4:1: file: duplicate key 'file' (first given at line 2)")
    XCTAssertEqual(
      error("name=a\n  topic=\\u00zz\n", file: "e.properties"),
      "e.properties:2:3: malformed \\uXXXX escape '\\u00zz'")
  }

  // MARK: - YAML

  func testYAMLFormReadsBackWhatYamlTextWrites() throws {
    let tricky = [
      "plain", "", "  leading and trailing  ", "quote \" and backslash \\", "line\nbreak\r\n",
      "tab\there", "${env:SECRET}", "$${literal}", "# not a comment", "key: value", "true", "null",
      "~", "0755", "1e3", "[a, b]", "{a: b}", "ünïcödé ✓", "bell \u{07} del \u{7F} nel \u{85}",
      "sep \u{2028} \u{2029}", "mid\u{FEFF}dle", "- dash", "'single'", "&anchor", "*alias", "!tag",
      "%percent", "@at", "`tick`",
    ]
    var config = ConnectConfig()
    config["connector.class"] = "sluice.sink.file"
    for (i, value) in tricky.enumerated() { config["key.\(i)"] = value }
    config["odd key: #1"] = "x"
    let text = config.yamlText(name: "round-trip")
    let read = try ConnectConfigFile.parse(text: text, file: "rt.yaml")
    XCTAssertEqual(read.name, "round-trip")
    XCTAssertEqual(read.config, config)
    XCTAssertEqual(read.config.keys, config.keys)
    for (i, value) in tricky.enumerated() {
      XCTAssertEqual(read.config["key.\(i)"], value, "value \(i)")
    }
    XCTAssertEqual(read.config.entry("connector.class")?.line, 3)
    XCTAssertTrue(text.hasPrefix("name: \"round-trip\"\nconfig:\n  \"connector.class\": "))
  }

  // MARK: - A registry with a test plugin

  /// A source type `tester` with a nested group, a list, a free-form mapping and a secret.
  private struct TesterSource: SourceConnector {
    let definition: ConnectorDefinition
    init(_ definition: ConnectorDefinition) throws {
      self.definition = definition
      let m = try definition.config.mapping(allowedKeys: Self.definitions.topLevelKeys)
      _ = try m.string("path")
      _ = try m.int("count", default: 1, range: 1...10)
      if let batch = m.node("batch") {
        _ = try batch.mapping(allowedKeys: Self.definitions.keys(under: "batch"))
      }
    }
    func makeTask(index: Int, count: Int, context: any SourceTaskContext) throws -> any SourceTask {
      fatalError("not run")
    }

    static let definitions: [ConfigKeyDefinition] = [
      .init("path", .string, required: true, group: "Main", "A path."),
      .init("count", .int, default: "1", group: "Main", "How many (1 to 10)."),
      .init("mode", .string, default: "a", group: "Main", allowed: ["a", "b"], "A or B."),
      .init("tables", .list, group: "Main", shape: .list, "Tables."),
      .init("headers", .string, group: "Main", shape: .mapping, "Headers."),
      .init("batch.size", .int, group: "Batch", "Batch size."),
      .init("batch.linger", .string, group: "Batch", "Linger."),
      .init("password", .password, group: "Secrets", "A password."),
    ]
  }

  private var registry: ConnectorRegistry {
    var registry = ConnectorRegistry()
    registry.register(
      .source("tester", definitions: TesterSource.definitions) { try TesterSource($0) })
    return registry
  }

  func testNativeYAMLFlattensAndTranslatesBackToAnEqualDefinition() throws {
    let text = """
      name: nested
      source: tester
      topic: out.{x}
      tasks: 2
      errors: { tolerance: all, dlq_topic: bad, retries: 3 }
      config:
        path: /data
        count: 4
        tables: [public.a, "b,c", "[d]"]
        headers: { X-One: "1", Authorization: "Bearer ${env:TOKEN}" }
        batch: { size: 10, linger: 5ms }
        password: ${env:PW}
      """
    let environment = ["TOKEN": "t0k", "PW": "hunter2"]
    let original = try ConnectorDefinition.parse(
      text: text, file: "n.yaml", environment: environment)
    let flat = original.connectConfig
    XCTAssertEqual(
      flat.keys,
      [
        "connector.class", "name", "topic", "tasks.max", "errors.tolerance",
        "errors.deadletterqueue.topic.name", "errors.retries", "path", "count", "tables",
        "headers.X-One", "headers.Authorization", "batch.size", "batch.linger", "password",
      ])
    XCTAssertEqual(flat["connector.class"], "sluice.source.tester")
    XCTAssertEqual(flat["tables"], #"["public.a","b,c","[d]"]"#)
    XCTAssertEqual(flat["password"], "${env:PW}")

    let back = try registry.definition(
      name: "nested", config: flat, file: "n.yaml",
      interpolation: Interpolation(environment: environment))
    XCTAssertEqual(back.name, original.name)
    XCTAssertEqual(back.role, original.role)
    XCTAssertEqual(back.topic, original.topic)
    XCTAssertEqual(back.tasks, 2)
    XCTAssertEqual(back.sinkErrorPolicy.tolerateAll, true)
    XCTAssertEqual(back.sinkErrorPolicy.deadLetterTopic, "bad")
    XCTAssertEqual(back.sinkErrorPolicy.retries, 3)
    XCTAssertEqual(back.deadLetterTopicIsExplicit, true)
    XCTAssertEqual(back.config.outline, original.config.outline)
    XCTAssertTrue(back.config.outline.contains("hunter2"))
    XCTAssertEqual(back.connectConfig, flat)
  }

  func testAnEmptyGroupRoundTrips() throws {
    let original = try ConnectorDefinition.parse(
      text: "name: g\nsource: tester\ntopic: t\nconfig: { path: /p, batch: {} }\n", file: "g.yaml",
      environment: [:])
    XCTAssertEqual(original.connectConfig["batch"], "{}")
    let back = try registry.definition(
      name: "g", config: original.connectConfig, file: "g.yaml",
      interpolation: Interpolation(environment: [:]))
    XCTAssertEqual(back.config.outline, "{path: '/p', batch: {}}")
    XCTAssertEqual(back.config.outline, original.config.outline)
    // The group as JSON and one of its keys on its own add up.
    let mixed = try registry.definition(
      name: "g",
      config: ConnectConfig([
        "connector.class": "tester", "topic": "t", "path": "/p", "batch": #"{"size": 3}"#,
        "batch.linger": "5ms",
      ]), file: "g.yaml", interpolation: Interpolation(environment: [:]))
    XCTAssertEqual(mixed.config.outline, "{path: '/p', batch: {size: '3', linger: '5ms'}}")
  }

  func testErrorsAboutEntriesFromTheAPIPointAtTheFile() {
    XCTAssertThrowsError(
      try registry.definition(
        name: "api",
        config: ConnectConfig(["connector.class": "tester", "topic": "t", "pth": "/p"]),
        file: "/srv/connectors/api.yaml", interpolation: Interpolation(environment: [:]))
    ) { error in
      XCTAssertEqual(
        "\(error)",
        "/srv/connectors/api.yaml:1:1: pth: unknown key 'pth' for sluice.source.tester; did you mean 'path'?"
      )
    }
  }

  func testConnectFormFilesInTheFolderAreTranslatedAndPropertiesAreListed() throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
      "connect-form-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    try "name=from-properties\nconnector.class=sluice.source.tester\ntopic=t\npath=/p\ncount=3\n"
      .write(to: folder.appendingPathComponent("a.properties"), atomically: true, encoding: .utf8)
    var json = ConnectConfig()
    json["connector.class"] = "tester"
    json["topic"] = "u"
    json["path"] = "/q"
    json["batch.size"] = "5"
    try json.yamlText(name: "from-yaml").write(
      to: folder.appendingPathComponent("b.yaml"), atomically: true, encoding: .utf8)
    try #"{"name": "broken", "config": {"connector.class": "tester", "topic": "v", "paht": "/r"}}"#
      .write(to: folder.appendingPathComponent("c.json"), atomically: true, encoding: .utf8)

    var reader = ConnectorFolderReader(directory: folder.path, environment: [:], registry: registry)
    guard case .read(let definitions, let errors) = reader.read() else {
      return XCTFail("folder not read")
    }
    XCTAssertEqual(definitions.map(\.name), ["from-properties", "from-yaml"])
    XCTAssertEqual(definitions[0].role, .source("tester"))
    XCTAssertEqual(definitions[0].topic, "t")
    XCTAssertEqual(definitions[0].connectConfig["count"], "3")
    XCTAssertEqual(definitions[1].connectConfig, json)
    XCTAssertEqual(errors.count, 1)
    XCTAssertEqual(
      errors.first?.description,
      "\(folder.path)/c.json:1:74: paht: unknown key 'paht' for sluice.source.tester; did you mean 'path'?"
    )

    // Without a registry a Connect-form file is an error, never silently skipped.
    var bare = ConnectorFolderReader(directory: folder.path, environment: [:])
    guard case .read(let none, let bareErrors) = bare.read() else { return XCTFail() }
    XCTAssertTrue(none.isEmpty)
    XCTAssertEqual(bareErrors.count, 3)
  }

  func testTranslationErrorsNameTheFlatKey() {
    func failure(_ pairs: KeyValuePairs<String, String>) -> String {
      do {
        _ = try registry.definition(
          name: "x", config: ConnectConfig(pairs), file: "x.yaml",
          interpolation: Interpolation(environment: [:]))
        return "no error"
      } catch {
        return "\(error.key): \(error.message)"
      }
    }
    XCTAssertEqual(
      failure(["connector.class": "sluice.source.testr", "topic": "t"]),
      "connector.class: no connector class 'sluice.source.testr'; did you mean 'sluice.source.tester'? (known: sluice.source.tester)"
    )
    XCTAssertEqual(
      failure(["connector.class": "tester", "topic": "t", "path": "/p", "tasks.max": "0"]),
      "tasks.max: expected an integer from 1 to 256, got 0")
    XCTAssertEqual(
      failure(["connector.class": "tester", "topic": "t", "path": "${env:NOPE}"]),
      "path: environment variable NOPE is not set (give a default with ${env:NOPE:-value})")
    XCTAssertEqual(
      failure(["connector.class": "tester", "topic": "t", "path": "/p", "transforms": "unwrap"]),
      "transforms.unwrap: 'unwrap' needs a 'type'"
    )
    XCTAssertEqual(
      failure([
        "connector.class": "tester", "topic": "t", "path": "/p", "transforms": "a",
        "transforms.b.type": "Filter",
      ]),
      "transforms.b.type: 'transforms.b.type' names no alias of 'transforms' (a)"
    )
    XCTAssertEqual(
      failure([
        "connector.class": "tester", "topic": "t", "path": "/p",
        "value.converter": "io.confluent.connect.avro.AvroConverter",
      ]),
      "value.converter: sluice.source.tester in Sluice works with org.apache.kafka.connect.json.JsonConverter; 'io.confluent.connect.avro.AvroConverter' is not built"
    )
    XCTAssertEqual(
      failure([
        "connector.class": "tester", "topic": "t", "path": "/p",
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter.schemas.enable": "true",
      ]),
      "value.converter.schemas.enable: Sluice writes and reads JSON without the converter's schema; schemas.enable=true is not built for sluice.source.tester"
    )
    XCTAssertEqual(
      failure([
        "connector.class": "tester", "topic": "t", "path": "/p", "errors.log.enable": "true",
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter.schemas.enable": "false",
      ]), "no error")
  }

  // MARK: - Validation

  func testValidateListsEveryDefinitionAndAttachesErrorsToTheirKeys() throws {
    let infos = registry.validate(
      config: ConnectConfig([
        "connector.class": "sluice.source.tester", "name": "v", "topic": "t", "path": "/p",
        "count": "many", "mode": "c", "colour": "red", "password": "hunter2",
        "headers.X-Token": "abc",
      ]), interpolation: Interpolation(environment: [:]))
    XCTAssertEqual(infos.name, "sluice.source.tester")
    let plugin = try XCTUnwrap(registry.plugin(named: "tester"))
    let listed = infos.configs.map(\.definition.name)
    for definition in plugin.definitions {
      XCTAssertTrue(listed.contains(definition.name), definition.name)
    }
    XCTAssertEqual(infos.errors(of: "count"), ["Invalid value 'many': expected an integer"])
    XCTAssertEqual(infos.errors(of: "mode"), ["Invalid value 'c': expected one of a, b"])
    XCTAssertEqual(
      infos.errors(of: "colour"),
      ["unknown key 'colour' for sluice.source.tester"])
    XCTAssertEqual(infos.errors(of: "path"), [])
    XCTAssertEqual(infos.errorCount, 3)
    XCTAssertTrue(infos.groups.contains("Unknown"))
    let password = try XCTUnwrap(infos.configs.first { $0.value.name == "password" })
    XCTAssertEqual(password.value.value, "[hidden]")
    XCTAssertEqual(password.definition.type, "PASSWORD")
    XCTAssertEqual(
      infos.configs.first { $0.value.name == "mode" }?.value.recommendedValues, ["a", "b"])
    XCTAssertEqual(
      infos.configs.first { $0.value.name == "headers.X-Token" }?.value.value, "[hidden]")

    // The connector's own validation runs too once the generic checks pass.
    let own = registry.validate(
      config: ConnectConfig([
        "connector.class": "tester", "name": "v", "topic": "t", "path": "/p", "count": "11",
      ]), interpolation: Interpolation(environment: [:]))
    XCTAssertEqual(own.errors(of: "count"), ["expected an integer from 1 to 10, got 11"])
    XCTAssertEqual(own.errorCount, 1)

    let missing = registry.validate(
      config: ConnectConfig(["connector.class": "tester", "topic": "t"]),
      interpolation: Interpolation(environment: [:]))
    XCTAssertEqual(
      missing.errors(of: "path"),
      ["Missing required configuration \"path\" which has no default value."])
    XCTAssertEqual(
      missing.errors(of: "name"),
      ["Missing required configuration \"name\" which has no default value."])
  }

  func testConfigInfosEncodeAsKafkaWritesThem() throws {
    let infos = registry.validate(
      config: ConnectConfig(["connector.class": "tester", "name": "v", "topic": "t", "path": "/p"]),
      interpolation: Interpolation(environment: [:]))
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    let json = try XCTUnwrap(
      JSONSerialization.jsonObject(with: encoder.encode(infos)) as? [String: Any])
    XCTAssertEqual(json["error_count"] as? Int, 0)
    let first = try XCTUnwrap((json["configs"] as? [[String: Any]])?.first)
    let definition = try XCTUnwrap(first["definition"] as? [String: Any])
    XCTAssertEqual(
      Set(definition.keys),
      [
        "name", "type", "required", "default_value", "importance", "documentation", "group",
        "order", "width", "display_name", "dependents",
      ])
    XCTAssertEqual(definition["name"] as? String, "name")
    XCTAssertTrue(definition["default_value"] is NSNull)
    XCTAssertEqual(definition["width"] as? String, "NONE")
    let value = try XCTUnwrap(first["value"] as? [String: Any])
    XCTAssertEqual(
      Set(value.keys), ["name", "value", "recommended_values", "errors", "visible"])
  }

  // MARK: - Secrets

  func testRedactionHidesSecretsButShowsReferencesAsWritten() {
    let shown = registry.redacted(
      ConnectConfig([
        "connector.class": "tester", "password": "hunter2", "path": "/p",
        "database.password": "plain", "api.token": "t", "client.secret": "s",
        "headers.Authorization": "Bearer abc", "other.password": "${env:PW}",
        "both": "${file:/run/secrets/a} ${env:B}", "mixed.password": "x${env:PW}",
        "url": "postgresql://user:pw@host/db",
        "connection.url": "jdbc:postgresql://h/d?user=u&password=pw&ssl=true",
      ]))
    XCTAssertEqual(shown["connection.url"], "jdbc:postgresql://h/d?user=u&password=***&ssl=true")
    XCTAssertEqual(shown["password"], "[hidden]")
    XCTAssertEqual(shown["path"], "/p")
    XCTAssertEqual(shown["database.password"], "[hidden]")
    XCTAssertEqual(shown["api.token"], "[hidden]")
    XCTAssertEqual(shown["client.secret"], "[hidden]")
    XCTAssertEqual(shown["headers.Authorization"], "[hidden]")
    XCTAssertEqual(shown["other.password"], "${env:PW}")
    XCTAssertEqual(shown["both"], "${file:/run/secrets/a} ${env:B}")
    XCTAssertEqual(shown["mixed.password"], "[hidden]")
    XCTAssertEqual(shown["url"], "postgresql://user:***@host/db")
    XCTAssertEqual(shown.keys, registry.redacted(shown).keys)
  }

  func testPluginsAreFoundByClassAliasAndSimpleName() {
    var registry = self.registry
    registry.register(
      .translator(
        className: "com.example.one.JdbcSinkConnector", aliases: [], kind: .sink,
        sluiceType: "x", definitions: [], converters: []
      ) { t throws(ConfigError) in throw t.error("x", "unused") })
    registry.register(
      .translator(
        className: "com.example.two.JdbcSinkConnector", aliases: [], kind: .sink,
        sluiceType: "x", definitions: [], converters: []
      ) { t throws(ConfigError) in throw t.error("x", "unused") })
    XCTAssertEqual(registry.plugin(named: "tester")?.className, "sluice.source.tester")
    XCTAssertEqual(registry.plugin(named: "sluice.source.tester")?.type, .source)
    XCTAssertEqual(
      registry.plugin(named: "com.example.two.JdbcSinkConnector")?.className,
      "com.example.two.JdbcSinkConnector")
    // Two classes share the simple name: ambiguous, as in Kafka.
    XCTAssertNil(registry.plugin(named: "JdbcSinkConnector"))
    XCTAssertNil(registry.plugin(named: "JdbcSink"))
    XCTAssertEqual(registry.sourceTypes, ["tester"])
    XCTAssertEqual(registry.sinkTypes, [])
    XCTAssertEqual(registry.plugin(named: "tester")?.version, SluiceVersion.current)
  }
}
