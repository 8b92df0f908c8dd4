import Foundation
import XCTest

/// Moving over from Kafka Connect: a Debezium PostgreSQL connector JSON and a Confluent JDBC sink
/// JSON, as their docs show them, POSTed to Sluice, move rows from one PostgreSQL database to
/// another (the PostgreSQL sink applies Debezium's envelope itself; `unwrap` is not needed).
final class ConnectConfigMigrationTests: CDCWorkerTestCase {
  func testDebeziumAndJDBCSinkJSONMoveRowsBetweenDatabases() throws {
    if try cdcPSQL(url, "SELECT 1 FROM pg_database WHERE datname = 'sluice_jdbc_target'").isEmpty {
      try cdcPSQL(url, "CREATE DATABASE sluice_jdbc_target")
    }
    let base = String(url[..<url.lastIndex(of: "/")!])
    let targetURL = base + "/sluice_jdbc_target"
    try cdcPSQL(
      url,
      """
      DROP TABLE IF EXISTS inventory; DROP PUBLICATION IF EXISTS dbz_publication;
      CREATE TABLE inventory (id int PRIMARY KEY, item text, qty int);
      INSERT INTO inventory VALUES (1, 'bolt', 10), (2, 'nut', 20);
      """)
    try cdcPSQL(targetURL, "DROP TABLE IF EXISTS inventory")
    slotsToDrop.append("debezium")
    let parts = try XCTUnwrap(URLComponents(string: url))
    let host = parts.host ?? "127.0.0.1"
    let port = parts.port ?? 5432
    let user = parts.user ?? "sluice"
    let password = parts.password ?? ""
    let database = String(parts.path.dropFirst())

    let worker = try WorkerProcess()
    try worker.start()
    defer { _ = worker.terminate() }
    // Debezium's PostgreSQL connector, as its tutorial registers it (slot and publication left
    // at Debezium's defaults: `debezium`, `dbz_publication`).
    let source = try worker.send(
      "POST", "/connectors",
      json: """
        {
          "name": "fulfillment-connector",
          "config": {
            "connector.class": "io.debezium.connector.postgresql.PostgresConnector",
            "database.hostname": "\(host)",
            "database.port": "\(port)",
            "database.user": "\(user)",
            "database.password": "\(password)",
            "database.dbname": "\(database)",
            "topic.prefix": "fulfillment",
            "table.include.list": "public.inventory",
            "plugin.name": "pgoutput"
          }
        }
        """)
    XCTAssertEqual(source.status, 201, String(decoding: source.body, as: UTF8.self))
    // Confluent's JDBC sink, as its docs configure an upsert by key.
    let sink = try worker.send(
      "POST", "/connectors",
      json: """
        {
          "name": "jdbc-sink",
          "config": {
            "connector.class": "io.confluent.connect.jdbc.JdbcSinkConnector",
            "tasks.max": "1",
            "topics": "fulfillment.public.inventory",
            "connection.url": "jdbc:postgresql://\(host):\(port)/sluice_jdbc_target",
            "connection.user": "\(user)",
            "connection.password": "\(password)",
            "insert.mode": "upsert",
            "pk.mode": "record_key",
            "pk.fields": "id",
            "auto.create": "true",
            "table.name.format": "inventory",
            "delete.enabled": "true"
          }
        }
        """)
    XCTAssertEqual(sink.status, 201, String(decoding: sink.body, as: UTF8.self))
    let shown = try JSONSerialization.jsonObject(with: source.body) as? [String: Any]
    XCTAssertEqual((shown?["config"] as? [String: String])?["database.password"], "[hidden]")
    let shownSink = try JSONSerialization.jsonObject(with: sink.body) as? [String: Any]
    XCTAssertEqual((shownSink?["config"] as? [String: String])?["connection.password"], "[hidden]")

    try waitUntil("the snapshot rows in the target", timeout: 60) {
      try cdcPSQL(targetURL, "SELECT count(*) FROM inventory") == "2"
    }
    try cdcPSQL(
      url,
      """
      INSERT INTO inventory VALUES (3, 'washer', 30);
      UPDATE inventory SET qty = 11 WHERE id = 1;
      DELETE FROM inventory WHERE id = 2;
      """)
    try waitUntil("the streamed changes in the target", timeout: 60) {
      try cdcPSQL(targetURL, "SELECT id, item, qty FROM inventory ORDER BY id")
        == "1|bolt|11\n3|washer|30"
    }
    XCTAssertEqual(
      (try worker.getJSON("/connectors/fulfillment-connector/config") as? [String: String])?[
        "database.password"], "[hidden]")
  }
}
