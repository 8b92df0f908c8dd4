import Foundation
import XCTest

/// The conversion options end to end: a connector file with non-default modes, a table whose
/// key is a domain over date and whose columns are an enum, an hstore, a domain over
/// numeric(10,2) and an interval — read by the snapshot, then streamed (types pgoutput names
/// only by OID, resolved through the catalog), then deleted by key.
final class PostgresCDCConversionTests: CDCWorkerTestCase {
  func testNonDefaultModesAndUserTypesInTheSnapshotAndTheStream() throws {
    try cdcPSQL(
      url,
      """
      CREATE EXTENSION IF NOT EXISTS hstore;
      DROP TABLE IF EXISTS cdc_conv;
      DROP DOMAIN IF EXISTS conv_day, conv_amount;
      DROP TYPE IF EXISTS conv_mood;
      CREATE DOMAIN conv_day AS date;
      CREATE DOMAIN conv_amount AS numeric(10,2);
      CREATE TYPE conv_mood AS ENUM ('sad', 'happy');
      CREATE TABLE cdc_conv (id conv_day PRIMARY KEY, m conv_mood, h hstore, amount conv_amount,
        span interval, at timestamp(3));
      INSERT INTO cdc_conv VALUES ('2026-11-25', 'happy', 'a=>1', 1234.56, '1 day',
        '2026-11-25 10:00:00.5');
      """)
    slotsToDrop.append("cdc_conv")
    let worker = try WorkerProcess()
    try worker.writeConnector(
      "cdc-conv",
      connectorYAML(
        "cdc-conv", tables: "[public.cdc_conv]", topic: "conv.{table}",
        extra:
          "  decimal_handling: string\n  time_precision: connect\n  hstore_handling: map\n  interval_handling: string"
      ))
    try worker.start()
    try waitForStreaming(worker, "cdc-conv")
    try cdcPSQL(
      url,
      """
      INSERT INTO cdc_conv VALUES ('2026-11-26', 'sad', 'b=>NULL', -1, '-2 hours', NULL);
      DELETE FROM cdc_conv WHERE id = '2026-11-25';
      """)
    try waitUntil("the streamed events", timeout: 30) {
      ((try? worker.records("conv.cdc_conv")) ?? []).count >= 4
    }
    let records = try worker.records("conv.cdc_conv")
    XCTAssertEqual(records.count, 4, "\(records)")
    XCTAssertEqual(
      records.map { canonicalJSON($0["key"]) },
      [#"{"id":20782}"#, #"{"id":20783}"#, #"{"id":20782}"#, #"{"id":20782}"#].map {
        canonicalJSON(try? JSONSerialization.jsonObject(with: Data($0.utf8)))
      })
    let values = records.map { $0["value"] as? [String: Any] }
    XCTAssertEqual(values.map { $0?["op"] as? String }, ["r", "c", "d", nil])
    XCTAssertEqual(
      canonicalJSON(values[0]?["after"]),
      canonicalJSON(
        [
          "id": 20782, "m": "happy", "h": ["a": "1"], "amount": "1234.56",
          "span": "P0Y0M1DT0H0M0S", "at": 1_795_600_800_500,
        ] as [String: Any]))
    XCTAssertEqual(
      canonicalJSON(values[1]?["after"]),
      canonicalJSON(
        [
          "id": 20783, "m": "sad", "h": ["b": NSNull()], "amount": "-1.00",
          "span": "P0Y0M0DT-2H0M0S", "at": NSNull(),
        ] as [String: Any]))
    XCTAssertEqual(
      canonicalJSON(values[2]?["before"]),
      canonicalJSON(
        [
          "id": 20782, "m": NSNull(), "h": NSNull(), "amount": NSNull(), "span": NSNull(),
          "at": NSNull(),
        ] as [String: Any]))
    XCTAssertNotNil(worker.terminate())
  }
}
