import Foundation
import XCTest

/// Sluice's connectors and Kafka clients on one set of topics: the PostgreSQL CDC source's
/// Debezium events read by confluent-kafka, and kafka-python's records written by the
/// PostgreSQL sink.
final class KafkaEndToEndTests: CDCWorkerTestCase {
  private func startWorker() throws -> (WorkerProcess, String) {
    let port = try WorkerProcess.freePort()
    let worker = try WorkerProcess(workerYAMLExtra: "kafka: { listen: 127.0.0.1:\(port) }")
    return (worker, "127.0.0.1:\(port)")
  }

  private func python(_ script: String, _ arguments: [String]) throws -> String {
    let run = try runProgram(KafkaWorkerTestCase.python, ["-c", script] + arguments)
    XCTAssertEqual(run.status, 0, run.output)
    return run.output.split(separator: "\n").last.map(String.init) ?? ""
  }

  func testCDCEventsAreReadByConfluentKafka() throws {
    try cdcPSQL(
      url, "DROP TABLE IF EXISTS kafka_cdc; CREATE TABLE kafka_cdc (id int PRIMARY KEY, name text)")
    slotsToDrop.append("kafka_cdc")
    let (worker, bootstrap) = try startWorker()
    try worker.writeConnector(
      "kafka-cdc", connectorYAML("kafka-cdc", tables: "[kafka_cdc]", topic: "pg.{table}"))
    try worker.start()
    try waitForStreaming(worker, "kafka-cdc")
    try cdcPSQL(
      url,
      "INSERT INTO kafka_cdc VALUES (1, 'one'), (2, 'two'); UPDATE kafka_cdc SET name = 'uno' WHERE id = 1; DELETE FROM kafka_cdc WHERE id = 2"
    )
    let script = """
      import json, sys
      from confluent_kafka import Consumer
      c = Consumer({"bootstrap.servers": sys.argv[1], "group.id": "cdc-reader", "auto.offset.reset": "earliest"})
      c.subscribe(["pg.kafka_cdc"])
      events = []
      while len(events) < 4:
          m = c.poll(15)
          if m is None: break
          if m.error() or m.value() is None: continue
          e = json.loads(m.value())
          e = e.get("payload", e)
          events.append([e["op"], (e.get("after") or e.get("before"))["id"], json.loads(m.key()).get("payload", json.loads(m.key())).get("id") if m.key() else None])
      c.close()
      print(json.dumps(events))
      """
    let events = try python(script, [bootstrap])
    XCTAssertEqual(events, #"[["c", 1, 1], ["c", 2, 2], ["u", 1, 1], ["d", 2, 2]]"#, worker.log())
    XCTAssertEqual(worker.terminate()?.status, 0)
  }

  func testKafkaPythonRecordsAreWrittenByThePostgresSink() throws {
    try cdcPSQL(
      url,
      "DROP TABLE IF EXISTS kafka_sink_rows; CREATE TABLE kafka_sink_rows (id int PRIMARY KEY, v int)"
    )
    let (worker, bootstrap) = try startWorker()
    try worker.writeConnector(
      "kafka-sink",
      """
      name: kafka-sink
      sink: postgres
      topics: [from-kafka]
      config: { url: "\(url)", table: kafka_sink_rows, mode: upsert, primary_key: [id] }
      """)
    try worker.start()
    let script = """
      import json, sys
      from kafka import KafkaProducer
      p = KafkaProducer(bootstrap_servers=sys.argv[1], acks="all")
      for i in range(50):
          p.send("from-kafka", key=str(i % 10).encode(), value=json.dumps({"id": i % 10, "v": i}).encode())
      p.flush()
      print("sent")
      """
    XCTAssertEqual(try python(script, [bootstrap]), "sent")
    try waitUntil("the sink wrote the last version of each key", timeout: 30) {
      (try? cdcPSQL(self.url, "SELECT string_agg(v::text, ',' ORDER BY id) FROM kafka_sink_rows"))
        == "40,41,42,43,44,45,46,47,48,49"
    }
    XCTAssertEqual(worker.terminate()?.status, 0)
  }
}
