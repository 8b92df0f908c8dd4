import Foundation
import XCTest

/// The connectors' own series in a real worker's `GET /metrics` move as records flow: CDC
/// events by op and transactions, webhook requests by status, MQTT messages and connection
/// state, HTTP sink requests by status, each with its duration histogram.
final class ConnectorMetricsTests: CDCWorkerTestCase {
  func testCDCEventsByOpTransactionsAndTimeBehindSource() throws {
    try cdcPSQL(
      url,
      "DROP TABLE IF EXISTS cdc_metrics; CREATE TABLE cdc_metrics (id int PRIMARY KEY, n int); INSERT INTO cdc_metrics VALUES (0, 0)"
    )
    slotsToDrop.append("cdc_metrics")
    let worker = try WorkerProcess()
    try worker.writeConnector(
      "cdc-metrics",
      connectorYAML("cdc-metrics", tables: "[cdc_metrics]", topic: "metrics.{table}"))
    try worker.start()
    try waitForStreaming(worker, "cdc-metrics")
    try cdcPSQL(
      url,
      """
      INSERT INTO cdc_metrics SELECT g, g FROM generate_series(1, 5) g;
      UPDATE cdc_metrics SET n = n + 1 WHERE id <= 3;
      DELETE FROM cdc_metrics WHERE id = 5;
      BEGIN; UPDATE cdc_metrics SET n = 0 WHERE id = 1; DELETE FROM cdc_metrics WHERE id = 4; COMMIT;
      """)
    let c = ["connector": "cdc-metrics"]
    func events(_ op: String) throws -> Double? {
      try worker.metrics().value("sluice_cdc_events_total", c.merging(["op": op]) { $1 })
    }
    try waitUntil("the changes counted") { try events("d") == 2 }
    XCTAssertEqual(try events("c"), 5)
    XCTAssertEqual(try events("u"), 5, "rows 0 to 3, then row 1 again")
    XCTAssertEqual(try events("r"), 1, "the snapshot's one row")
    let scrape = try worker.metrics()
    XCTAssertEqual(scrape.value("sluice_cdc_snapshot_rows_total", c), 1)
    XCTAssertEqual(scrape.value("sluice_cdc_snapshot_remaining_tables", c), 0)
    XCTAssertEqual(scrape.value("sluice_cdc_transactions_total", c), 4)
    let behind = scrape.value("sluice_cdc_milliseconds_behind_source", c) ?? -1
    XCTAssertGreaterThanOrEqual(behind, 0)
    XCTAssertLessThan(behind, 10_000)
    let text = String(decoding: try worker.get("/metrics").body, as: UTF8.self)
    XCTAssertNotNil(scrape.value("sluice_cdc_last_heartbeat_age_seconds", c), text)
    try waitUntil("the slot's first reading") {
      try worker.metrics().has(
        "sluice_cdc_replication_slot_retained_wal_bytes",
        ["connector": "cdc-metrics", "slot": "cdc_metrics"])
    }
    XCTAssertNotNil(worker.terminate())
  }

  func testWebhookRequestsByStatusWithTheirDurations() throws {
    let worker = try WorkerProcess()
    let port = try WorkerProcess.freePort()
    try worker.writeConnector(
      "hook-metrics",
      """
      name: hook-metrics
      source: webhook
      topic: hooked
      config: { listen: 127.0.0.1:\(port), path: /in }
      """)
    try worker.start()
    try waitUntil("webhook endpoint listening") { portIsOpen(port) }
    let url = "http://127.0.0.1:\(port)/in"
    let json = ["Content-Type": "application/json"]
    for i in 0..<3 {
      XCTAssertEqual(
        httpRequest("POST", url, headers: json, body: Data("{\"i\":\(i)}".utf8)).status, 200)
    }
    XCTAssertEqual(httpRequest("POST", url, headers: json, body: Data("{bad".utf8)).status, 400)
    let c = ["connector": "hook-metrics"]
    let scrape = try worker.metrics()
    XCTAssertEqual(
      scrape.value("sluice_webhook_requests_total", c.merging(["status": "200"]) { $1 }), 3)
    XCTAssertEqual(
      scrape.value("sluice_webhook_requests_total", c.merging(["status": "400"]) { $1 }), 1)
    XCTAssertEqual(scrape.value("sluice_webhook_request_duration_seconds_count", c), 4)
    XCTAssertEqual(
      scrape.value(
        "sluice_webhook_request_duration_seconds_bucket", c.merging(["le": "+Inf"]) { $1 }), 4)
    // The connector's series go with it.
    try worker.removeConnector("hook-metrics")
    try waitUntil("the webhook's series removed") {
      !(try worker.metrics().has("sluice_webhook_requests_total", c))
    }
    XCTAssertNotNil(worker.terminate())
  }

  func testMQTTMessagesAndConnectionState() throws {
    let port = try sharedMQTTPort()
    let p = uniquePrefix()
    let worker = try WorkerProcess()
    try worker.writeConnector(
      p,
      """
      name: \(p)
      source: mqtt
      topic: "\(p).readings"
      config:
        url: mqtt://127.0.0.1:\(port)
        client_id: \(p)
        subscriptions: [ { filter: "\(p)/#", qos: 1 } ]
      """)
    try worker.start()
    try worker.waitForMQTT(p)
    let labels = ["connector": p, "task": "0"]
    XCTAssertEqual(try worker.metrics().value("sluice_mqtt_connected", labels), 1)
    for i in 0..<5 {
      try mosquittoPub([
        "-h", "127.0.0.1", "-p", "\(port)", "-t", "\(p)/d\(i)", "-q", "1", "-m", "\(i)",
      ])
    }
    try waitUntil("5 records") { worker.recordCount("\(p).readings") == 5 }
    let scrape = try worker.metrics()
    XCTAssertEqual(scrape.value("sluice_mqtt_messages_total", labels), 5)
    XCTAssertEqual(scrape.value("sluice_mqtt_redeliveries_skipped_total", labels), 0)
    XCTAssertNotNil(worker.terminate())
  }

  func testHTTPSinkRequestsByStatusWithTheirDurations() throws {
    // The receiver refuses record "bad" for good (400) and takes the rest.
    let receiver = try HTTPReceiver.start { request in
      request.bodyText.contains("bad") ? HTTPReceiver.Reply(status: 400) : HTTPReceiver.Reply()
    }
    let worker = try WorkerProcess()
    try worker.writeConnector(
      "sink-metrics",
      """
      name: sink-metrics
      sink: http
      topics: [outgoing]
      config:
        url: "\(receiver.url)/in"
      errors: { tolerance: all, dlq_topic: outgoing.dlq }
      """)
    try worker.start()
    let (status, body) = try worker.post(
      "/topics/outgoing/records",
      json: #"{"records": [{"value": {"v": "a"}}, {"value": {"v": "bad"}}, {"value": {"v": "b"}}]}"#
    )
    XCTAssertEqual(status, 200, String(decoding: body, as: UTF8.self))
    let c = ["connector": "sink-metrics"]
    try waitUntil("three requests counted") {
      try worker.metrics().value("sluice_http_sink_request_duration_seconds_count", c) == 3
    }
    let scrape = try worker.metrics()
    XCTAssertEqual(
      scrape.value("sluice_http_sink_requests_total", c.merging(["status": "200"]) { $1 }), 2)
    XCTAssertEqual(
      scrape.value("sluice_http_sink_requests_total", c.merging(["status": "400"]) { $1 }), 1)
    receiver.stop()
    XCTAssertNotNil(worker.terminate())
  }
}
