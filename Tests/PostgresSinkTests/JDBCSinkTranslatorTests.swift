import Foundation
import SluiceCore
import XCTest

@testable import PostgresSinkConnector

/// Confluent's and Debezium's JDBC sink configs for PostgreSQL, run as Sluice's `postgres` sink.
final class JDBCSinkTranslatorTests: XCTestCase {
  private var registry: ConnectorRegistry {
    var registry = ConnectorRegistry()
    PostgresSinkConnectors.register(in: &registry)
    return registry
  }

  private func definition(_ text: String, environment: [String: String] = [:]) throws
    -> ConnectorDefinition
  {
    try ConnectorDefinition.parse(
      text: text, file: "sink.json", interpolation: Interpolation(environment: environment),
      registry: registry)
  }

  private func translationError(_ base: KeyValuePairs<String, String>, _ pairs: [(String, String)])
    -> String
  {
    var config = ConnectConfig(base)
    for (key, value) in pairs { config[key] = value }
    do {
      _ = try registry.definition(
        name: "x", config: config, file: "x.json", interpolation: Interpolation(environment: [:]))
      return "no error"
    } catch {
      return "\(error.key): \(error.message)"
    }
  }

  /// A Confluent JDBC sink for PostgreSQL as its documentation writes one: upserts keyed by the
  /// record key, deletes from tombstones, tables created on demand.
  func testConfluentJDBCSinkBecomesAPostgresSink() throws {
    let definition = try definition(
      """
      {
        "name": "jdbc-sink",
        "config": {
          "connector.class": "io.confluent.connect.jdbc.JdbcSinkConnector",
          "tasks.max": "1",
          "topics": "orders",
          "connection.url": "jdbc:postgresql://localhost:5432/postgres",
          "connection.user": "postgres",
          "connection.password": "${env:PGPASSWORD}",
          "insert.mode": "upsert",
          "pk.mode": "record_key",
          "pk.fields": "id",
          "delete.enabled": "true",
          "auto.create": "true",
          "auto.evolve": "true",
          "value.converter": "org.apache.kafka.connect.json.JsonConverter",
          "value.converter.schemas.enable": "true",
          "errors.tolerance": "all",
          "errors.deadletterqueue.topic.name": "dlq-orders",
          "max.retries": "3"
        }
      }
      """, environment: ["PGPASSWORD": "s3cret"])
    XCTAssertEqual(definition.role, .sink("postgres"))
    XCTAssertEqual(definition.topics, ["orders"])
    XCTAssertTrue(definition.sinkErrorPolicy.tolerateAll)
    XCTAssertEqual(definition.sinkErrorPolicy.deadLetterTopic, "dlq-orders")
    XCTAssertEqual(definition.sinkErrorPolicy.retries, 3)
    XCTAssertEqual(
      definition.config.outline,
      "{url: 'postgresql://postgres@localhost:5432/postgres', password: 's3cret', mode: 'upsert', "
        + "primary_key: ['id'], delete: 'true', batch_size: '3000', table: '{topic}', "
        + "auto_create: 'true', auto_evolve: 'true'}")
    let config = try PostgresSinkConfig(definition: definition)
    XCTAssertEqual(config.url, "postgresql://postgres@localhost:5432/postgres")
    XCTAssertEqual(config.password, "s3cret")
    XCTAssertEqual(config.mode, .upsert)
    XCTAssertEqual(config.primaryKey, ["id"])
    XCTAssertTrue(config.delete)
    XCTAssertTrue(config.autoCreate)
    XCTAssertTrue(config.autoEvolve)
    XCTAssertEqual(config.batchSize, 3000)
    XCTAssertEqual(config.table, [.placeholder("topic")])
    XCTAssertEqual(config.schema, "public")
  }

  func testDebeziumJDBCSinkBecomesAPostgresSink() throws {
    let definition = try definition(
      """
      {
        "name": "jdbc-connector",
        "config": {
          "connector.class": "io.debezium.connector.jdbc.JdbcSinkConnector",
          "tasks.max": "1",
          "connection.url": "jdbc:postgresql://localhost/db?currentSchema=sales&sslmode=require",
          "connection.username": "pguser",
          "connection.password": "pgpassword",
          "insert.mode": "upsert",
          "delete.enabled": "true",
          "primary.key.mode": "record_key",
          "schema.evolution": "basic",
          "use.time.zone": "UTC",
          "topics": "orders"
        }
      }
      """)
    let config = try PostgresSinkConfig(definition: definition)
    XCTAssertEqual(config.url, "postgresql://pguser@localhost/db?sslmode=require")
    XCTAssertEqual(config.password, "pgpassword")
    XCTAssertEqual(config.schema, "sales")
    XCTAssertEqual(config.mode, .upsert)
    XCTAssertEqual(config.primaryKey, [])
    XCTAssertTrue(config.delete)
    XCTAssertTrue(config.autoCreate)
    XCTAssertTrue(config.autoEvolve)
    XCTAssertEqual(config.batchSize, 500)
    XCTAssertEqual(config.table, [.placeholder("topic")])
  }

  func testTableNameFormats() throws {
    func table(_ className: String, _ format: String) throws -> [String] {
      let definition = try registry.definition(
        name: "t",
        config: ConnectConfig([
          "connector.class": className, "topics": "orders",
          "connection.url": "jdbc:postgresql://db/warehouse", "table.name.format": format,
        ]), file: "t.json", interpolation: Interpolation(environment: [:]))
      let config = try PostgresSinkConfig(definition: definition)
      let parts = config.table ?? []
      let text = parts.map { part in
        switch part {
        case .literal(let text): text
        case .placeholder(let name): "{\(name)}"
        }
      }.joined()
      return [config.schema, text]
    }
    XCTAssertEqual(
      try table(JDBCSinkTranslators.confluentClass, "archive.${topic}_copy"),
      ["archive", "{topic}_copy"])
    XCTAssertEqual(
      try table(JDBCSinkTranslators.confluentClass, "kafka_${topic}"), ["public", "kafka_{topic}"])
    XCTAssertEqual(
      try table(JDBCSinkTranslators.confluentClass, "archive.orders"), ["archive", "orders"])
    // Debezium puts '_' only for the topic's dots; a literal schema.table names the schema.
    XCTAssertEqual(
      try table(JDBCSinkTranslators.debeziumClass, "archive.orders"), ["archive", "orders"])
    XCTAssertEqual(
      try table(JDBCSinkTranslators.debeziumClass, "copy_${source.table}"),
      ["public", "copy_{source.table}"])
    XCTAssertEqual(try table(JDBCSinkTranslators.debeziumClass, "${topic}"), ["public", "{topic}"])
  }

  func testSettingsSluiceDoesNotHaveAreErrorsNamingTheKey() {
    let confluent: KeyValuePairs<String, String> = [
      "connector.class": "io.confluent.connect.jdbc.JdbcSinkConnector", "topics": "orders",
      "connection.url": "jdbc:postgresql://db:5432/warehouse",
    ]
    let cases: [([(String, String)], String)] = [
      (
        [("connection.url", "jdbc:mysql://db/warehouse")],
        "connection.url: Sluice writes to PostgreSQL: expected jdbc:postgresql://host[:port]/database, got 'jdbc:mysql://db/warehouse'"
      ),
      (
        [("connection.url", "jdbc:postgresql://db/w?prepareThreshold=0")],
        "connection.url: the JDBC parameter 'prepareThreshold' is not built in Sluice (known: ApplicationName, connectTimeout, options, sslcert, sslkey, sslmode, sslrootcert, ssl, currentSchema, user, password)"
      ),
      (
        [("pk.mode", "kafka")],
        "pk.mode: 'kafka' is not built in Sluice: its postgres sink keys rows by fields of the record key (record_key) or value (record_value)"
      ),
      (
        [("insert.mode", "upsert")],
        "pk.mode: insert.mode=upsert needs a primary key: set pk.mode=record_key (or record_value with pk.fields)"
      ),
      (
        [("delete.enabled", "true"), ("pk.mode", "record_value"), ("pk.fields", "id")],
        "delete.enabled: delete.enabled=true needs pk.mode=record_key"
      ),
      (
        [("topics", "shop.public.orders")],
        "table.name.format: the table name comes from topic 'shop.public.orders', which has dots: Confluent's sink splits the dotted name into schema and table, which Sluice does not do; give table.name.format a table name"
      ),
      (
        [("topics.regex", "orders.*")],
        "topics.regex: a sink reading the topics a regular expression matches is not built in Sluice; list them in 'topics'"
      ),
      (
        [("quote.sql.identifiers", "never")],
        "quote.sql.identifiers: 'never' is not built in Sluice: Sluice always quotes identifiers (accepted: always)"
      ),
      (
        [("value.converter", "io.confluent.connect.avro.AvroConverter")],
        "value.converter: io.confluent.connect.jdbc.JdbcSinkConnector in Sluice works with org.apache.kafka.connect.json.JsonConverter; 'io.confluent.connect.avro.AvroConverter' is not built"
      ),
      (
        [("max.retries", "2"), ("errors.retries", "2")],
        "max.retries: give either max.retries or errors.retries, not both"
      ),
      (
        [("primary.key.mode", "record_key")],
        "primary.key.mode: unknown key 'primary.key.mode' for io.confluent.connect.jdbc.JdbcSinkConnector"
      ),
      (
        [("errors.log.enable", "true"), ("errors.deadletterqueue.topic.replication.factor", "1")],
        "no error"
      ),
    ]
    for (pairs, expected) in cases {
      XCTAssertEqual(translationError(confluent, pairs), expected, "\(pairs)")
    }
    XCTAssertEqual(
      translationError(
        [
          "connector.class": "io.debezium.connector.jdbc.JdbcSinkConnector", "topics": "a",
          "connection.url": "jdbc:postgresql://db/w",
        ], [("quote.identifiers", "false")]),
      "quote.identifiers: 'false' is not built in Sluice: Sluice always quotes identifiers (accepted: true)"
    )
    XCTAssertEqual(
      translationError(
        [
          "connector.class": "io.debezium.connector.jdbc.JdbcSinkConnector", "topics": "a.b",
          "connection.url": "jdbc:postgresql://db/w",
        ], []),
      "table.name.format: the table name comes from topic 'a.b', which has dots: Debezium's sink turns its dots into underscores, which Sluice does not do; give table.name.format a table name"
    )
    // The simple name is shared by both classes: Kafka calls that ambiguous, and so does Sluice.
    XCTAssertEqual(
      translationError(
        [
          "connector.class": "JdbcSinkConnector", "topics": "a",
          "connection.url": "jdbc:postgresql://db/w",
        ],
        []),
      "connector.class: 'JdbcSinkConnector' names more than one connector class (io.confluent.connect.jdbc.JdbcSinkConnector, io.debezium.connector.jdbc.JdbcSinkConnector); give the full class name"
    )
  }

  func testValidateAttachesErrorsToTheKeys() {
    let infos = registry.validate(
      config: ConnectConfig([
        "connector.class": "io.confluent.connect.jdbc.JdbcSinkConnector", "name": "s",
        "topics": "orders", "connection.url": "jdbc:postgresql://db/w",
        "connection.password": "pw", "batch.size": "0", "auto.craete": "true",
      ]), interpolation: Interpolation(environment: [:]))
    XCTAssertEqual(
      infos.errors(of: "auto.craete"),
      [
        "unknown key 'auto.craete' for io.confluent.connect.jdbc.JdbcSinkConnector; did you mean 'auto.create'?"
      ])
    XCTAssertEqual(infos.errorCount, 1)
    let fixed = registry.validate(
      config: ConnectConfig([
        "connector.class": "io.confluent.connect.jdbc.JdbcSinkConnector", "name": "s",
        "topics": "orders", "connection.url": "jdbc:postgresql://db/w", "batch.size": "0",
      ]), interpolation: Interpolation(environment: [:]))
    XCTAssertEqual(
      fixed.errors(of: "batch.size"), ["expected an integer from 1 to 100000, got '0'"])
    XCTAssertEqual(
      fixed.configs.first { $0.value.name == "connection.password" }?.definition.type, "PASSWORD")
  }
}
