import Foundation
import SluiceCore
import XCTest

@testable import PostgresCDCConnector

/// Debezium PostgreSQL connector configs, as Debezium's documentation shows them, run as
/// Sluice's `postgres-cdc` source; what cannot be translated exactly is an error naming the key.
final class DebeziumPostgresConfigTests: XCTestCase {
  private var registry: ConnectorRegistry {
    var registry = ConnectorRegistry()
    PostgresCDCConnectors.register(in: &registry)
    return registry
  }

  /// The example configuration of Debezium's PostgreSQL connector documentation.
  private let documentationExample = """
    {
      "name": "fulfillment-connector",
      "config": {
        "connector.class": "io.debezium.connector.postgresql.PostgresConnector",
        "database.hostname": "192.168.99.100",
        "database.port": "5432",
        "database.user": "postgres",
        "database.password": "postgres",
        "database.dbname" : "postgres",
        "topic.prefix": "fulfillment",
        "table.include.list": "public.inventory"
      }
    }
    """

  private func definition(
    _ text: String, file: String = "dbz.json", environment: [String: String] = [:]
  ) throws -> ConnectorDefinition {
    try ConnectorDefinition.parse(
      text: text, file: file, interpolation: Interpolation(environment: environment),
      registry: registry)
  }

  private func translationError(_ pairs: [(String, String)]) -> String {
    var config = ConnectConfig([
      "connector.class": "io.debezium.connector.postgresql.PostgresConnector",
      "database.hostname": "db", "database.user": "u", "database.dbname": "shop",
      "topic.prefix": "shop", "table.include.list": "public.orders",
    ])
    for (key, value) in pairs { config[key] = value }
    do {
      _ = try registry.definition(
        name: "x", config: config, file: "x.json", interpolation: Interpolation(environment: [:]))
      return "no error"
    } catch {
      return "\(error.key): \(error.message)"
    }
  }

  func testDocumentationExampleBecomesAPostgresCDCSource() throws {
    let definition = try definition(documentationExample)
    XCTAssertEqual(definition.name, "fulfillment-connector")
    XCTAssertEqual(definition.role, .source("postgres-cdc"))
    XCTAssertEqual(definition.topic, "fulfillment.{schema}.{table}")
    XCTAssertEqual(definition.tasks, 1)
    XCTAssertEqual(
      definition.config.outline,
      "{url: 'postgresql://postgres@192.168.99.100:5432/postgres', password: 'postgres', "
        + "tables: ['public.inventory'], slot: 'debezium', publication: 'dbz_publication'}")
    XCTAssertEqual(definition.connectConfig["database.hostname"], "192.168.99.100")
    XCTAssertEqual(definition.fingerprint, documentationExample)

    let config = try CDCConfig(definition: definition)
    XCTAssertEqual(config.url, "postgresql://postgres@192.168.99.100:5432/postgres")
    XCTAssertEqual(config.password, "postgres")
    XCTAssertEqual(config.tables, .listed([QualifiedName(schema: "public", table: "inventory")]))
    XCTAssertEqual(config.slot, "debezium")
    XCTAssertEqual(config.publication, "dbz_publication")
    XCTAssertEqual(config.snapshot, .initial)
    XCTAssertTrue(config.tombstonesOnDelete)
    // Topics as Debezium names them: <topic.prefix>.<schema>.<table>.
    XCTAssertEqual(
      try config.topic.render { ["schema": "public", "table": "inventory"][$0] },
      "fulfillment.public.inventory")
  }

  func testTranslatedKeysReachTheSource() throws {
    let definition = try definition(
      """
      name=inventory
      connector.class=io.debezium.connector.postgresql.PostgresConnector
      database.hostname=::1
      database.user=repl user
      database.password=${env:PGPASSWORD}
      database.dbname=inventory
      database.sslmode=require
      topic.prefix=dbserver1
      plugin.name=pgoutput
      slot.name=inventory_slot
      publication.name=inventory_pub
      publication.autocreate.mode=filtered
      schema.include.list=inventory
      table.include.list=inventory\\.customers,inventory.orders,public.audit
      snapshot.mode=no_data
      heartbeat.interval.ms=5000
      tombstones.on.delete=false
      decimal.handling.mode=string
      time.precision.mode=isostring
      binary.handling.mode=base64
      interval.handling.mode=string
      hstore.handling.mode=map
      slot.drop.on.stop=false
      max.batch.size=4096
      key.converter=org.apache.kafka.connect.json.JsonConverter
      key.converter.schemas.enable=false
      """, file: "inventory.properties", environment: ["PGPASSWORD": "s3cret"])
    let config = try CDCConfig(definition: definition)
    XCTAssertEqual(config.url, "postgresql://repl%20user@[::1]/inventory?sslmode=require")
    XCTAssertEqual(config.password, "s3cret")
    // public.audit is outside schema.include.list, so Debezium would not capture it either.
    XCTAssertEqual(
      config.tables,
      .listed([
        QualifiedName(schema: "inventory", table: "customers"),
        QualifiedName(schema: "inventory", table: "orders"),
      ]))
    XCTAssertEqual(config.slot, "inventory_slot")
    XCTAssertEqual(config.publication, "inventory_pub")
    XCTAssertEqual(config.snapshot, .never)
    XCTAssertEqual(config.heartbeatInterval, .seconds(5))
    // Debezium's heartbeat records, to __debezium-heartbeat.<topic.prefix>; no metadata.
    XCTAssertEqual(config.heartbeatTopic, "__debezium-heartbeat.dbserver1")
    XCTAssertEqual(config.serverName, "dbserver1")
    XCTAssertNil(config.transactionMetadata)
    XCTAssertFalse(config.tombstonesOnDelete)
    XCTAssertEqual(
      config.conversion,
      ValueConversionOptions(
        decimal: .string, time: .isostring, interval: .string, binary: .base64, hstore: .map))
    XCTAssertEqual(definition.topic, "dbserver1.{schema}.{table}")
    // What is kept is what was written: the reference, not the password.
    XCTAssertEqual(definition.connectConfig["database.password"], "${env:PGPASSWORD}")
  }

  func testTransactionMetadataAndHeartbeatTopicsAreNamedAsDebeziumNamesThem() throws {
    func config(_ pairs: [String: String]) throws -> CDCConfig {
      var config = ConnectConfig([
        "connector.class": "io.debezium.connector.postgresql.PostgresConnector",
        "database.hostname": "db", "database.user": "u", "database.dbname": "shop",
        "topic.prefix": "shop", "table.include.list": "public.orders",
      ])
      for (key, value) in pairs { config[key] = value }
      return try CDCConfig(
        definition: try registry.definition(
          name: "x", config: config, file: "x.json",
          interpolation: Interpolation(environment: [:])))
    }
    let plain = try config([:])
    XCTAssertNil(plain.transactionMetadata)
    XCTAssertNil(plain.heartbeatTopic)
    let on = try config(["provide.transaction.metadata": "true", "heartbeat.interval.ms": "1000"])
    XCTAssertEqual(on.transactionMetadata, TransactionMetadata(topic: "shop.transaction"))
    XCTAssertEqual(on.heartbeatTopic, "__debezium-heartbeat.shop")
    XCTAssertEqual(on.heartbeatInterval, .seconds(1))
    // The heartbeat key's serverName is the topic prefix, not the connector's name ("x").
    XCTAssertEqual(on.serverName, "shop")
    let named = try config([
      "provide.transaction.metadata": "true", "topic.transaction": "tx",
      "heartbeat.interval.ms": "2000", "topic.heartbeat.prefix": "hb",
    ])
    XCTAssertEqual(named.transactionMetadata?.topic, "shop.tx")
    XCTAssertEqual(named.heartbeatTopic, "hb.shop")
    let full = try config(["heartbeat.interval.ms": "2000", "topic.heartbeat.name": "beats"])
    XCTAssertEqual(full.heartbeatTopic, "beats")
    // No heartbeat records without an interval, as in Debezium.
    XCTAssertNil(try config(["topic.heartbeat.prefix": "hb"]).heartbeatTopic)
  }

  func testNoIncludeListCapturesEveryTable() throws {
    let definition = try registry.definition(
      name: "all",
      config: ConnectConfig([
        "connector.class": "PostgresConnector", "database.hostname": "db",
        "database.user": "u", "database.dbname": "d", "topic.prefix": "p",
      ]), file: "all.json", interpolation: Interpolation(environment: [:]))
    XCTAssertEqual(try CDCConfig(definition: definition).tables, .all)
    XCTAssertEqual(
      try CDCConfig(definition: definition).conversion, .debezium,
      "without the modes, Debezium's defaults")
  }

  func testSettingsSluiceDoesNotHaveAreErrorsNamingTheKey() {
    let cases: [([(String, String)], String)] = [
      (
        [("plugin.name", "decoderbufs")],
        "plugin.name: 'decoderbufs' is not built in Sluice: Sluice reads the pgoutput logical decoding plug-in only (accepted: pgoutput)"
      ),
      (
        [("table.include.list", "public.*")],
        "table.include.list: 'public.*' is a pattern; Sluice captures tables by name, so list each one (schema.table)"
      ),
      (
        [("table.include.list", "orders")],
        "table.include.list: 'orders': Debezium matches schema.table, so a table needs its schema (public.orders?)"
      ),
      (
        [("table.include.list", "public.Orders")],
        "table.include.list: 'public.Orders': Debezium matches names without regard to case, Sluice by exact name; write the name as PostgreSQL stores it, in lower case"
      ),
      (
        [("table.include.list", ""), ("schema.include.list", "inventory")],
        "schema.include.list: Sluice captures listed tables or every table; schema.include.list without table.include.list is not built: list the tables in table.include.list"
      ),
      (
        [("table.exclude.list", "public.audit")],
        "table.exclude.list: table.include.list and table.exclude.list cannot be used together (as in Debezium)"
      ),
      (
        [("column.exclude.list", "public.orders.secret")],
        "column.exclude.list: column filters are not built in Sluice: every column is captured"
      ),
      (
        [("decimal.handling.mode", "exact")],
        "decimal.handling.mode: expected one of precise, double, string, got 'exact'"
      ),
      (
        [("time.precision.mode", "nanos")],
        "time.precision.mode: expected one of adaptive, adaptive_time_microseconds, connect, isostring, got 'nanos'"
      ),
      (
        [("slot.drop.on.stop", "true")],
        "slot.drop.on.stop: 'true' is not built in Sluice: Sluice keeps the slot when the connector stops; it drops it only when the connector is deleted (drop_slot_on_delete) (accepted: false)"
      ),
      (
        [("publication.autocreate.mode", "disabled")],
        "publication.autocreate.mode: 'disabled' is not built in Sluice: Sluice creates a missing publication for the captured tables and adds missing tables to it (accepted: all_tables, filtered)"
      ),
      (
        [("snapshot.mode", "when_needed")],
        "snapshot.mode: 'when_needed' is not built in Sluice (initial, initial_only and no_data are)"
      ),
      (
        [("database.server.name", "old")],
        "database.server.name: unknown key 'database.server.name' for io.debezium.connector.postgresql.PostgresConnector"
      ),
      (
        [
          ("transforms", "unwrap"),
          ("transforms.unwrap.type", "io.debezium.transforms.NoSuchTransform"),
        ],
        "transforms.unwrap.type: unknown transform 'io.debezium.transforms.NoSuchTransform'"
      ),
      (
        [
          ("key.converter", "org.apache.kafka.connect.json.JsonConverter"),
          ("key.converter.schemas.enable", "false"),
          ("value.converter", "org.apache.kafka.connect.json.JsonConverter"),
          ("value.converter.schemas.enable", "true"),
        ],
        "value.converter.schemas.enable: Sluice writes keys and values both with the JSON converter's schema or both without; key.converter.schemas.enable means schemas.enable=false and value.converter.schemas.enable means true (a JsonConverter without schemas.enable has it true, as in Kafka)"
      ),
      (
        [("slot.name", "Bad-Slot")],
        "no error"
      ),
    ]
    for (pairs, expected) in cases {
      XCTAssertEqual(translationError(pairs), expected, "\(pairs)")
    }
  }

  func testValidateGivesEveryDefinitionAndPerKeyErrors() throws {
    let plugin = try XCTUnwrap(registry.plugin(named: DebeziumPostgresConfig.className))
    let infos = registry.validate(
      config: ConnectConfig([
        "connector.class": DebeziumPostgresConfig.className, "name": "v",
        "database.hostname": "db", "database.port": "five", "database.user": "u",
        "database.password": "pw", "database.dbname": "d", "topic.prefix": "p",
        "databse.sslmode": "require",
      ]), interpolation: Interpolation(environment: [:]))
    for definition in plugin.definitions {
      XCTAssertTrue(
        infos.configs.contains { $0.definition.name == definition.name }, definition.name)
    }
    XCTAssertEqual(infos.errors(of: "database.port"), ["Invalid value 'five': expected an integer"])
    XCTAssertEqual(
      infos.errors(of: "databse.sslmode"),
      [
        "unknown key 'databse.sslmode' for io.debezium.connector.postgresql.PostgresConnector; did you mean 'database.sslmode'?"
      ])
    XCTAssertEqual(infos.errorCount, 2)
    XCTAssertEqual(
      infos.configs.first { $0.value.name == "database.password" }?.value.value, "[hidden]")
    XCTAssertEqual(
      infos.configs.first { $0.value.name == "table.include.list" }?.definition.importance, "HIGH")

    // The source's own validation: a slot name PostgreSQL would refuse, on the key given.
    let own = registry.validate(
      config: ConnectConfig([
        "connector.class": "io.debezium.connector.postgresql.PostgresConnector", "name": "v",
        "database.hostname": "db", "database.user": "u", "database.dbname": "d",
        "topic.prefix": "p", "slot.name": "Bad-Slot",
      ]), interpolation: Interpolation(environment: [:]))
    XCTAssertEqual(
      own.errors(of: "slot.name"),
      [
        "a replication slot name has 1 to 63 characters: lower-case letters, digits and '_'; got 'Bad-Slot'"
      ])
    XCTAssertEqual(own.errorCount, 1)
  }
}
