import Foundation
import XCTest

/// `unwrap` on a `postgres-cdc` source with `schemas: true`, on a real worker against the
/// PostgreSQL of `make test`: a consumer reads `{"schema": <topic>.Value, "payload": <row>}` as
/// Debezium's ExtractNewRecordState writes it through the JSON converter — `__deleted` and the
/// `add.fields` as optional fields of their Connect types, the key in its own schema form —
/// a `tombstone`-mode delete as the row's schema with a null payload, which the PostgreSQL sink
/// applies as a delete; and Debezium's heartbeat records keyed by the topic prefix, with their
/// schemas.
final class DebeziumUnwrapSchemasWorkerTests: CDCWorkerTestCase {
  private func object(_ any: Any?, _ what: String) throws -> [String: Any] {
    try XCTUnwrap(any as? [String: Any], what)
  }

  /// A struct schema's fields by name, and their names in order.
  private func fields(_ schema: [String: Any]) throws -> ([String: [String: Any]], [String]) {
    let list = try XCTUnwrap(schema["fields"] as? [[String: Any]])
    let names = list.map { $0["field"] as? String ?? "?" }
    return (Dictionary(zip(names, list), uniquingKeysWith: { a, _ in a }), names)
  }

  func testUnwrapWithSchemasWritesTheRowWithItsValueSchemaAsDebeziumDoes() throws {
    try cdcPSQL(
      url,
      """
      DROP TABLE IF EXISTS dbz_uws, uws_copy;
      CREATE TABLE dbz_uws (id int PRIMARY KEY, name text NOT NULL DEFAULT 'x', qty int,
        note text DEFAULT 'dflt');
      ALTER TABLE dbz_uws REPLICA IDENTITY FULL;
      INSERT INTO dbz_uws VALUES (1, 'bolt', 10, 'first');
      CREATE TABLE uws_copy (id int PRIMARY KEY, name text, qty int, note text);
      """)
    try cdcPSQL(
      url,
      """
      CREATE TABLE IF NOT EXISTS sluice_sink_offsets (connector text NOT NULL, topic text NOT NULL,
        "partition" integer NOT NULL, next_offset bigint NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (connector, topic, "partition"));
      DELETE FROM sluice_sink_offsets WHERE connector = 'uws-copy';
      """)
    slotsToDrop += ["uws_rewrite", "uws_tombstone"]
    let worker = try WorkerProcess()
    try worker.writeConnector(
      "uws-rewrite",
      connectorYAML(
        "uws-rewrite", tables: "[dbz_uws]", topic: "uws.{schema}.{table}",
        extra: """
            schemas: true
            heartbeat_ms: 200
            heartbeat_topic: true
          transforms:
            - name: unwrap
              type: io.debezium.transforms.ExtractNewRecordState
              delete.tombstone.handling.mode: rewrite
              add.fields: op,table,lsn,source.ts_ms
              add.headers: op
          """))
    try worker.writeConnector(
      "uws-tombstone",
      connectorYAML(
        "uws-tombstone", tables: "[dbz_uws]", topic: "uwt.{schema}.{table}",
        extra: """
            schemas: true
          transforms:
            - name: unwrap
              type: unwrap
          """))
    try worker.writeConnector(
      "uws-copy",
      """
      name: uws-copy
      sink: postgres
      topics: [uwt.public.dbz_uws]
      config: { url: "\(url)", table: uws_copy, mode: upsert, primary_key: [id] }
      """)
    try worker.start()
    defer { _ = worker.terminate() }
    try waitForStreaming(worker, "uws-rewrite")
    try waitForStreaming(worker, "uws-tombstone")
    try cdcPSQL(
      url,
      """
      INSERT INTO dbz_uws VALUES (2, 'nut', 20, 'n');
      UPDATE dbz_uws SET qty = 21 WHERE id = 2;
      DELETE FROM dbz_uws WHERE id = 2;
      INSERT INTO dbz_uws (id, name, qty, note) VALUES (3, 'washer', 30, NULL);
      """)
    // The sink read the tombstone-mode delete (`"payload": null`) as a delete.
    try waitUntil("the copy through the tombstone-mode topic", timeout: 60) {
      try cdcPSQL(self.url, "SELECT id, name, qty, note FROM uws_copy ORDER BY id")
        == "1|bolt|10|first\n3|washer|30|dflt"
    }
    try waitUntil("the rewrite-mode records", timeout: 60) {
      try worker.records("uws.public.dbz_uws").count >= 5
    }

    // Rewrite mode: read, create, update, the delete rewritten, create; its tombstone dropped.
    let rewritten = try worker.records("uws.public.dbz_uws")
    XCTAssertEqual(rewritten.count, 5, "\(rewritten)")
    var ops: [String] = []
    for record in rewritten {
      let key = try object(record["key"], "key")
      XCTAssertEqual(
        try object(key["schema"], "key schema")["name"] as? String, "uws.public.dbz_uws.Key",
        "the key keeps its schema form")
      let value = try object(record["value"], "value")
      XCTAssertEqual(Set(value.keys), ["schema", "payload"])
      let schema = try object(value["schema"], "schema")
      XCTAssertEqual(schema["type"] as? String, "struct")
      XCTAssertEqual(schema["name"] as? String, "uws.public.dbz_uws.Value")
      XCTAssertEqual(schema["optional"] as? Bool, false)
      let (byName, names) = try fields(schema)
      XCTAssertEqual(
        names,
        ["id", "name", "qty", "note", "__deleted", "__op", "__table", "__lsn", "__source_ts_ms"])
      XCTAssertEqual(byName["id"]?["type"] as? String, "int32")
      XCTAssertEqual(byName["id"]?["optional"] as? Bool, false)
      XCTAssertEqual(byName["name"]?["optional"] as? Bool, false)
      XCTAssertEqual(byName["name"]?["default"] as? String, "x", "the columns keep their schemas")
      for (field, type) in [
        ("__deleted", "string"), ("__op", "string"), ("__table", "string"), ("__lsn", "int64"),
        ("__source_ts_ms", "int64"),
      ] {
        XCTAssertEqual(byName[field]?["type"] as? String, type, field)
        XCTAssertEqual(byName[field]?["optional"] as? Bool, true, field)
        XCTAssertNil(byName[field]?["default"], field)
      }
      let payload = try object(value["payload"], "payload")
      XCTAssertEqual(Set(payload.keys), Set(names))
      XCTAssertEqual(payload["__table"] as? String, "dbz_uws")
      XCTAssertGreaterThan(payload["__lsn"] as? Int ?? 0, 0)
      XCTAssertGreaterThan(payload["__source_ts_ms"] as? Int ?? 0, 0)
      let op = payload["__op"] as? String ?? "?"
      ops.append(op)
      XCTAssertEqual(payload["__deleted"] as? String, op == "d" ? "true" : "false")
      XCTAssertEqual((record["headers"] as? [String: Any])?["__op"] as? String, op)
    }
    XCTAssertEqual(ops, ["r", "c", "u", "d", "c"])
    let deleted = try object(try object(rewritten[3]["value"], "value")["payload"], "payload")
    XCTAssertEqual(deleted["id"] as? Int, 2)
    XCTAssertEqual(deleted["qty"] as? Int, 21, "the row before the delete")
    let last = try object(try object(rewritten[4]["value"], "value")["payload"], "payload")
    XCTAssertEqual(last["note"] as? String, "dflt", "a NULL in a column with a default")

    // Tombstone mode: the delete is the row's schema with a null payload, its tombstone
    // dropped; no added fields.
    let tombstoned = try worker.records("uwt.public.dbz_uws")
    XCTAssertEqual(tombstoned.count, 5, "\(tombstoned)")
    let delete = try object(tombstoned[3]["value"], "the delete's value")
    XCTAssertTrue(delete["payload"] is NSNull, "\(delete)")
    let deleteSchema = try object(delete["schema"], "the delete's schema")
    XCTAssertEqual(deleteSchema["name"] as? String, "uwt.public.dbz_uws.Value")
    XCTAssertEqual(deleteSchema["optional"] as? Bool, true)
    XCTAssertEqual(try fields(deleteSchema).1, ["id", "name", "qty", "note"])
    let created = try object(tombstoned[1]["value"], "value")
    XCTAssertEqual(
      try object(created["payload"], "payload") as NSDictionary,
      ["id": 2, "name": "nut", "qty": 20, "note": "n"] as NSDictionary)
    XCTAssertEqual(
      try fields(try object(created["schema"], "schema")).1, ["id", "name", "qty", "note"])

    // Heartbeats: keyed and named by the topic prefix, in the converter's form.
    let beats = try worker.records("__debezium-heartbeat.uws")
    XCTAssertGreaterThan(beats.count, 0)
    let beatKey = try object(beats.first?["key"], "heartbeat key")
    XCTAssertEqual(
      try object(beatKey["payload"], "payload") as NSDictionary,
      ["serverName": "uws"] as NSDictionary)
    XCTAssertEqual(
      try object(beatKey["schema"], "schema")["name"] as? String,
      "io.debezium.connector.common.ServerNameKey")
    let beatValue = try object(beats.first?["value"], "heartbeat value")
    XCTAssertEqual(
      try object(beatValue["schema"], "schema")["name"] as? String,
      "io.debezium.connector.common.Heartbeat")
    XCTAssertNotNil(try object(beatValue["payload"], "payload")["ts_ms"] as? Int)
  }
}
