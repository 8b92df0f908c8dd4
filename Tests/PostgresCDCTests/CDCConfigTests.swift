import SluiceCore
import XCTest

@testable import PostgresCDCConnector

/// `source: postgres-cdc` settings: defaults, and errors located at the offending line.
final class CDCConfigTests: XCTestCase {
  func config(_ body: String, topic: String = "shop.{schema}.{table}") throws -> CDCConfig {
    let definition = try ConnectorDefinition.parse(
      text: "name: shop-cdc\nsource: postgres-cdc\ntopic: \"\(topic)\"\nconfig:\n\(body)",
      file: "shop.yaml", environment: ["PGPASSWORD": "secret"])
    return try CDCConfig(definition: definition)
  }

  func error(_ body: String, topic: String = "shop.{schema}.{table}") -> ConfigError? {
    do {
      _ = try config(body, topic: topic)
      return nil
    } catch {
      return error as? ConfigError
    }
  }

  func testAFullConfigAndTheDefaults() throws {
    let full = try config(
      """
        url: postgresql://sluice@127.0.0.1:5432/shop
        password: ${env:PGPASSWORD}
        tables: [public.orders, customers, '"Odd"."Name.x"']
        slot: shop_slot
        publication: shop_pub
        snapshot: never
        heartbeat_ms: 500
        drop_slot_on_delete: true
        tombstones_on_delete: false
      """)
    XCTAssertEqual(full.password, "secret")
    XCTAssertEqual(
      full.tables,
      .listed([
        QualifiedName(schema: "public", table: "orders"),
        QualifiedName(schema: "public", table: "customers"),
        QualifiedName(schema: "Odd", table: "Name.x"),
      ]))
    XCTAssertEqual(full.slot, "shop_slot")
    XCTAssertEqual(full.publication, "shop_pub")
    XCTAssertEqual(full.heartbeatInterval, .milliseconds(500))
    XCTAssertTrue(full.dropSlotOnDelete)
    XCTAssertFalse(full.tombstonesOnDelete)
    XCTAssertEqual(full.snapshot, .never)

    let minimal = try config("  url: postgresql://127.0.0.1/shop\n  tables: \"*\"\n")
    XCTAssertEqual(minimal.tables, .all)
    XCTAssertEqual(minimal.slot, "sluice_shop_cdc")
    XCTAssertEqual(minimal.publication, "sluice_shop_cdc")
    XCTAssertEqual(minimal.heartbeatInterval, .seconds(10))
    XCTAssertFalse(minimal.dropSlotOnDelete)
    XCTAssertTrue(minimal.tombstonesOnDelete)
    // Debezium's default: read the tables first.
    XCTAssertEqual(minimal.snapshot, .initial)
    XCTAssertEqual(
      try config("  url: postgresql://127.0.0.1/shop\n  tables: [a]\n  snapshot: initial_only\n")
        .snapshot, .initialOnly)
  }

  func testConversionModesDefaultToDebeziumsAndAreReadFromTheConfig() throws {
    let url = "  url: postgresql://127.0.0.1/shop\n  tables: [a]\n"
    XCTAssertEqual(try config(url).conversion, .debezium)
    XCTAssertEqual(
      try config(
        url
          + "  decimal_handling: string\n  time_precision: adaptive_time_microseconds\n"
          + "  interval_handling: string\n  binary_handling: base64-url-safe\n"
          + "  hstore_handling: map\n"
      ).conversion,
      ValueConversionOptions(
        decimal: .string, time: .adaptiveTimeMicroseconds, interval: .string,
        binary: .base64UrlSafe, hstore: .map))
    for (key, value, line) in [
      ("decimal_handling", "exact", 8), ("time_precision", "micro", 8),
      ("interval_handling", "iso", 8), ("binary_handling", "base32", 8),
      ("hstore_handling", "object", 8),
    ] {
      let bad = error(url + "  snapshot: never\n  \(key): \(value)\n")
      XCTAssertEqual(bad?.line, line, key)
      XCTAssertEqual(bad?.key, "config.\(key)")
      XCTAssertTrue(bad?.message.contains(value) == true, "\(String(describing: bad))")
    }
  }

  func testErrorsNameTheLineTheKeyAndWhatWasExpected() {
    let url = "  url: postgresql://127.0.0.1/shop\n"
    let unknown = error(url + "  tables: [a]\n  slott: x\n")
    XCTAssertEqual(unknown?.line, 7)
    XCTAssertTrue(
      unknown?.message.contains("did you mean 'slot'") == true, "\(String(describing: unknown))")

    let tables = error(url + "  tables: everything\n")
    XCTAssertEqual(tables?.line, 6)
    XCTAssertEqual(tables?.key, "config.tables")
    XCTAssertTrue(tables?.message.contains(#"or "*""#) == true, "\(String(describing: tables))")

    XCTAssertTrue(
      error(url + "  tables: [a.b.c]\n")?.message.contains("expected schema.table") == true)
    XCTAssertTrue(error("  tables: [a]\n")?.message.contains("missing required key 'url'") == true)
    XCTAssertTrue(
      error("  url: mysql://x\n  tables: [a]\n")?.message.contains("PostgreSQL URL") == true)

    let slot = error(url + "  tables: [a]\n  slot: Bad-Slot\n")
    XCTAssertEqual(slot?.line, 7)
    XCTAssertTrue(slot?.message.contains("lower-case letters") == true)

    let snapshot = error(url + "  tables: [a]\n  snapshot: inital\n")
    XCTAssertEqual(snapshot?.line, 7)
    XCTAssertTrue(
      error(url + "  tables: [a]\n  snapshot: inital\n")?.message.contains("did you mean 'initial'")
        == true)

    XCTAssertTrue(
      error(url + "  tables: [a]\n  heartbeat_ms: 5\n")?.message.contains("at least 100 ms") == true
    )

    let topic = error(url + "  tables: [a]\n", topic: "shop.{host}")
    XCTAssertEqual(topic?.line, 3)
    XCTAssertTrue(topic?.message.contains("{schema}, {table} and {db}") == true)
  }

  func testTopicNamesReplaceCharactersATopicCannotHold() {
    XCTAssertEqual(ChangeStream.topicSafe("Odd Name$1"), "Odd_Name_1")
  }
}

/// The CDC source's offset shape (Debezium's): the server name and the LSN a PATCH names.
final class CDCOffsetShapeTests: XCTestCase {
  private func connector(topic: String) throws -> PostgresCDCConnector {
    try PostgresCDCConnector(
      definition: ConnectorDefinition.parse(
        text:
          "name: shop-cdc\nsource: postgres-cdc\ntopic: \"\(topic)\"\nconfig:\n  url: postgresql://u@127.0.0.1/db\n  tables: [public.orders]\n",
        file: "shop.yaml", environment: [:]))
  }

  func testServerIsTheTopicPrefixOrTheConnectorName() throws {
    XCTAssertEqual(try connector(topic: "shop.{schema}.{table}").serverName, "shop")
    XCTAssertEqual(try connector(topic: "cdc.{table}").serverName, "shop-cdc")
  }

  func testLSNFromNumberOrText() throws {
    XCTAssertEqual(try PostgresCDCConnector.lsn(in: ["lsn": .int(0x16B_3748)]), LSN("0/16B3748"))
    XCTAssertEqual(
      try PostgresCDCConnector.lsn(in: ["lsn_text": .string("1/10"), "snapshot": .bool(false)]),
      LSN(0x1_0000_0010))
    XCTAssertEqual(
      try PostgresCDCConnector.lsn(in: ["lsn": .int(16), "lsn_text": .string("0/10")]), LSN(16))
    for bad: [String: JSONValue] in [
      [:], ["lsn": .int(-1)], ["lsn_text": .string("16B3748")],
      ["lsn": .int(1), "lsn_text": .string("0/2")],
      ["lsn": .int(1), "txId": .int(5)],
    ] {
      XCTAssertThrowsError(try PostgresCDCConnector.lsn(in: bad), "\(bad)")
    }
  }
}
