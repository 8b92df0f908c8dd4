import Foundation
import XCTest

/// Debezium's transforms on a real worker against the PostgreSQL of `make test`: CDC →
/// `unwrap` + RegexRouter → PostgreSQL sink reproduces a table under a new name (deletes as
/// soft deletes in `rewrite` mode, as real deletes in `tombstone` mode); an outbox table routed
/// by aggregate type to per-type topics with the payload expanded; and the common Kafka Connect
/// pipeline — Debezium's PostgreSQL JSON with `transforms=unwrap` and a Confluent JDBC sink JSON —
/// POSTed through the API.
final class DebeziumTransformWorkerTests: CDCWorkerTestCase {
  /// The sinks keep their offsets in the target database: forget those of an earlier run.
  private func forgetSinkOffsets(_ connectors: [String], on database: String) throws {
    try cdcPSQL(
      database,
      """
      CREATE TABLE IF NOT EXISTS sluice_sink_offsets (connector text NOT NULL, topic text NOT NULL,
        "partition" integer NOT NULL, next_offset bigint NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (connector, topic, "partition"));
      DELETE FROM sluice_sink_offsets WHERE connector IN (\(connectors.map { "'\($0)'" }.joined(separator: ",")))
      """)
  }

  /// `unwrap` + RegexRouter on the CDC source, the PostgreSQL sink on the renamed topics. In
  /// `rewrite` mode a delete reaches the sink as the old row with `__deleted: "true"`, which it
  /// upserts like any row (a soft delete, as with Kafka Connect's JDBC sinks); in `tombstone`
  /// mode it reaches it as a tombstone for the row's key, which it deletes.
  func testUnwrapAndRouteReproduceATableUnderANewNameInRewriteAndTombstoneModes() throws {
    try cdcPSQL(
      url,
      """
      DROP TABLE IF EXISTS dbz_items, items_rewrite, items_tombstone;
      CREATE TABLE dbz_items (id int PRIMARY KEY, name text, qty int);
      ALTER TABLE dbz_items REPLICA IDENTITY FULL;
      CREATE TABLE items_rewrite (id int PRIMARY KEY, name text, qty int, __deleted text);
      CREATE TABLE items_tombstone (id int PRIMARY KEY, name text, qty int);
      """)
    try forgetSinkOffsets(["items-rewrite-sink", "items-tombstone-sink"], on: url)
    slotsToDrop += ["items_rewrite", "items_tombstone"]
    let worker = try WorkerProcess()
    for mode in ["rewrite", "tombstone"] {
      try worker.writeConnector(
        "items-\(mode)",
        connectorYAML(
          "items-\(mode)", tables: "[dbz_items]", topic: "\(mode).{schema}.{table}",
          extra: """
            transforms:
              - name: unwrap
                type: io.debezium.transforms.ExtractNewRecordState
                delete.tombstone.handling.mode: \(mode)
              - name: route
                type: org.apache.kafka.connect.transforms.RegexRouter
                regex: '\(mode)\\.public\\.dbz_(.*)'
                replacement: '$1_\(mode)'
            """))
      try worker.writeConnector(
        "items-\(mode)-sink",
        """
        name: items-\(mode)-sink
        sink: postgres
        topics: [items_\(mode)]
        config: { url: "\(url)", table: items_\(mode), mode: upsert, primary_key: [id] }
        """)
    }
    try worker.start()
    defer { _ = worker.terminate() }
    try waitForStreaming(worker, "items-rewrite")
    try waitForStreaming(worker, "items-tombstone")
    try cdcPSQL(
      url,
      """
      INSERT INTO dbz_items VALUES (1, 'bolt', 10), (2, 'nut', 20), (3, 'washer', 30);
      UPDATE dbz_items SET qty = 11 WHERE id = 1;
      DELETE FROM dbz_items WHERE id = 2;
      UPDATE dbz_items SET name = 'big washer' WHERE id = 3;
      """)
    try waitUntil("the tombstone-mode copy", timeout: 60) {
      try cdcPSQL(self.url, "SELECT id, name, qty FROM items_tombstone ORDER BY id")
        == "1|bolt|11\n3|big washer|30"
    }
    try waitUntil("the rewrite-mode copy", timeout: 60) {
      try cdcPSQL(self.url, "SELECT id, name, qty, __deleted FROM items_rewrite ORDER BY id")
        == "1|bolt|11|false\n2|nut|20|true\n3|big washer|30|false"
    }
    // What the sinks read: flat rows, and for the delete a row with __deleted or a tombstone.
    let rewritten = try worker.records("items_rewrite")
    XCTAssertEqual(rewritten.count, 6, "\(rewritten)")
    XCTAssertEqual(
      (rewritten.first { ($0["value"] as? [String: Any])?["__deleted"] as? String == "true" }?[
        "value"] as? [String: Any])?["id"] as? Int, 2)
    let tombstoned = try worker.records("items_tombstone")
    XCTAssertEqual(tombstoned.count, 6, "\(tombstoned)")
    XCTAssertEqual(tombstoned.filter { $0["value"] is NSNull }.count, 1, "one tombstone")
    XCTAssertEqual(
      try worker.records("rewrite.public.dbz_items").count, 0, "nothing kept the old name")
  }

  /// The outbox pattern: rows of an outbox table become events on `outbox.event.<type>`, keyed
  /// by aggregate id, the payload column's JSON text expanded, the event id in the `id` header;
  /// deleting sent rows sends nothing.
  func testOutboxRowsAreRoutedByAggregateTypeWithThePayloadExpanded() throws {
    try cdcPSQL(
      url,
      """
      DROP TABLE IF EXISTS dbz_outbox;
      CREATE TABLE dbz_outbox (id text PRIMARY KEY, aggregatetype text NOT NULL,
        aggregateid text NOT NULL, type text NOT NULL, payload text);
      """)
    slotsToDrop.append("outbox")
    let worker = try WorkerProcess()
    try worker.writeConnector(
      "outbox",
      connectorYAML(
        "outbox", tables: "[dbz_outbox]", topic: "app.{table}",
        extra: """
          transforms:
            - name: outbox
              type: io.debezium.transforms.outbox.EventRouter
              table.expand.json.payload: true
              table.fields.additional.placement: type:header:eventType
          """))
    try worker.start()
    defer { _ = worker.terminate() }
    try waitForStreaming(worker, "outbox")
    try cdcPSQL(
      url,
      """
      INSERT INTO dbz_outbox VALUES
        ('e1', 'Order', 'o-1', 'OrderCreated', '{"id": 1, "lines": [{"item": "bolt", "qty": 2}]}'),
        ('e2', 'Customer', 'c-7', 'CustomerCreated', '{"name": "Anne"}'),
        ('e3', 'Order', 'o-1', 'OrderShipped', '{"id": 1, "carrier": "DHL"}');
      DELETE FROM dbz_outbox;
      INSERT INTO dbz_outbox VALUES ('e4', 'Customer', 'c-8', 'CustomerCreated', '{"name": "Bo"}');
      """)
    try waitUntil("the customer events", timeout: 30) {
      ((try? worker.records("outbox.event.Customer")) ?? []).count >= 2
    }
    // A sentinel event, committed last: anything extra would be in before it.
    try cdcPSQL(url, "INSERT INTO dbz_outbox VALUES ('end', 'End', 'end', 'End', '{}')")
    try waitUntil("the sentinel event", timeout: 30) {
      ((try? worker.records("outbox.event.End")) ?? []).count == 1
    }
    let orders = try worker.records("outbox.event.Order")
    XCTAssertEqual(orders.count, 2, "\(orders)")
    XCTAssertEqual(orders.map { $0["key"] as? String }, ["o-1", "o-1"])
    XCTAssertEqual(
      orders.map { ($0["headers"] as? [String: Any])?["id"] as? String }, ["e1", "e3"])
    XCTAssertEqual(
      orders.map { ($0["headers"] as? [String: Any])?["eventType"] as? String },
      ["OrderCreated", "OrderShipped"])
    let first = try XCTUnwrap(orders.first?["value"] as? [String: Any])
    XCTAssertEqual(first["id"] as? Int, 1)
    XCTAssertEqual(((first["lines"] as? [[String: Any]])?.first)?["item"] as? String, "bolt")
    let customers = try worker.records("outbox.event.Customer")
    XCTAssertEqual(customers.count, 2, "the deletes sent nothing: \(customers)")
    XCTAssertEqual(
      customers.map { ($0["value"] as? [String: Any])?["name"] as? String }, ["Anne", "Bo"])
    XCTAssertEqual(try worker.records("app.dbz_outbox").count, 0)
  }

  /// Kafka Connect's most common pipeline moved over as is: Debezium's PostgreSQL connector with
  /// `transforms=unwrap` (flat rows, deletes as tombstones) and Confluent's JDBC sink with
  /// `delete.enabled=true`, both POSTed as JSON, move rows between two databases.
  func testDebeziumWithUnwrapAndJDBCSinkJSONMoveRowsBetweenDatabases() throws {
    if try cdcPSQL(url, "SELECT 1 FROM pg_database WHERE datname = 'sluice_unwrap_target'").isEmpty
    {
      try cdcPSQL(url, "CREATE DATABASE sluice_unwrap_target")
    }
    let targetURL = String(url[..<url.lastIndex(of: "/")!]) + "/sluice_unwrap_target"
    try cdcPSQL(
      url,
      """
      DROP TABLE IF EXISTS unwrap_orders; DROP PUBLICATION IF EXISTS unwrap_publication;
      CREATE TABLE unwrap_orders (id int PRIMARY KEY, item text, qty int);
      INSERT INTO unwrap_orders VALUES (1, 'bolt', 10), (2, 'nut', 20);
      """)
    try cdcPSQL(targetURL, "DROP TABLE IF EXISTS orders")
    try forgetSinkOffsets(["unwrap-jdbc-sink"], on: targetURL)
    slotsToDrop.append("unwrap_slot")
    let parts = try XCTUnwrap(URLComponents(string: url))
    let host = parts.host ?? "127.0.0.1"
    let port = parts.port ?? 5432
    let user = parts.user ?? "sluice"
    let password = parts.password ?? ""

    let worker = try WorkerProcess()
    try worker.start()
    defer { _ = worker.terminate() }
    let source = try worker.send(
      "POST", "/connectors",
      json: """
        {
          "name": "unwrap-source",
          "config": {
            "connector.class": "io.debezium.connector.postgresql.PostgresConnector",
            "database.hostname": "\(host)",
            "database.port": "\(port)",
            "database.user": "\(user)",
            "database.password": "\(password)",
            "database.dbname": "\(String(parts.path.dropFirst()))",
            "topic.prefix": "shop",
            "table.include.list": "public.unwrap_orders",
            "plugin.name": "pgoutput",
            "slot.name": "unwrap_slot",
            "publication.name": "unwrap_publication",
            "transforms": "unwrap",
            "transforms.unwrap.type": "io.debezium.transforms.ExtractNewRecordState",
            "transforms.unwrap.drop.tombstones": "false"
          }
        }
        """)
    XCTAssertEqual(source.status, 201, String(decoding: source.body, as: UTF8.self))
    let sink = try worker.send(
      "POST", "/connectors",
      json: """
        {
          "name": "unwrap-jdbc-sink",
          "config": {
            "connector.class": "io.confluent.connect.jdbc.JdbcSinkConnector",
            "tasks.max": "1",
            "topics": "shop.public.unwrap_orders",
            "connection.url": "jdbc:postgresql://\(host):\(port)/sluice_unwrap_target",
            "connection.user": "\(user)",
            "connection.password": "\(password)",
            "insert.mode": "upsert",
            "pk.mode": "record_key",
            "pk.fields": "id",
            "auto.create": "true",
            "table.name.format": "orders",
            "delete.enabled": "true"
          }
        }
        """)
    XCTAssertEqual(sink.status, 201, String(decoding: sink.body, as: UTF8.self))
    try waitUntil("the snapshot rows in the target", timeout: 60) {
      (try? cdcPSQL(targetURL, "SELECT count(*) FROM orders")) == "2"
    }
    try cdcPSQL(
      url,
      """
      INSERT INTO unwrap_orders VALUES (3, 'washer', 30);
      UPDATE unwrap_orders SET qty = 11 WHERE id = 1;
      DELETE FROM unwrap_orders WHERE id = 2;
      """)
    try waitUntil("the streamed changes in the target", timeout: 60) {
      try cdcPSQL(targetURL, "SELECT id, item, qty FROM orders ORDER BY id")
        == "1|bolt|11\n3|washer|30"
    }
    // The topic holds flat rows, not envelopes.
    let records = try worker.records("shop.public.unwrap_orders")
    let first = try XCTUnwrap(records.first?["value"] as? [String: Any])
    XCTAssertEqual(Set(first.keys), ["id", "item", "qty"])
  }

  /// A record `unwrap` cannot read (not JSON) goes to the source's dead-letter topic with the
  /// transform's alias and reason in its headers; the change events around it are unwrapped and
  /// a heartbeat passes unchanged.
  func testARecordUnwrapCannotReadGoesToTheSourceDLQ() throws {
    let worker = try WorkerProcess()
    let input = worker.directory.appendingPathComponent("events.jsonl")
    let lines = [
      #"{"before":null,"after":{"id":1,"name":"bolt"},"source":{"table":"items"},"op":"c","ts_ms":1}"#,
      "not json at all",
      #"{"ts_ms":2}"#,
      #"{"before":{"id":1,"name":"bolt"},"after":null,"source":{"table":"items"},"op":"d","ts_ms":3}"#,
    ]
    try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: input)
    try worker.writeConnector(
      "events",
      """
      name: events
      source: file
      topic: items
      config: { path: \(input.path), poll_ms: 20 }
      errors: { tolerance: all, dlq_topic: items.dlq }
      transforms:
        - name: unwrap
          type: io.debezium.transforms.ExtractNewRecordState
          delete.tombstone.handling.mode: rewrite
      """)
    try worker.start()
    defer { _ = worker.terminate() }
    try waitUntil("the records and the dead letter", timeout: 30) {
      ((try? worker.records("items")) ?? []).count >= 3
        && ((try? worker.records("items.dlq")) ?? []).count >= 1
    }
    let items = try worker.records("items")
    XCTAssertEqual(items.count, 3, "\(items)")
    XCTAssertEqual((items[0]["value"] as? [String: Any])?["__deleted"] as? String, "false")
    XCTAssertEqual((items[1]["value"] as? [String: Any])?["ts_ms"] as? Int, 2, "a heartbeat passes")
    XCTAssertEqual((items[2]["value"] as? [String: Any])?["__deleted"] as? String, "true")
    let dead = try worker.records("items.dlq")
    XCTAssertEqual(dead.count, 1, "\(dead)")
    let headers = try XCTUnwrap(dead.first?["headers"] as? [String: Any])
    XCTAssertEqual(headers["sluice.transform"] as? String, "unwrap")
    XCTAssertTrue(
      (headers["sluice.error.reason"] as? String ?? "").contains("not JSON"), "\(headers)")
  }
}
