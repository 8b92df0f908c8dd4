import Foundation
import XCTest

/// Kafka Connect's transforms on a real worker: a file source's JSON lines pass InsertField,
/// ReplaceField, ValueToKey and ExtractField$Key before they are stored, so the topic holds the
/// reshaped records with a plain key, and a line the chain cannot apply to goes to the
/// connector's dead-letter topic with the transform's alias and reason.
final class KafkaConnectTransformsWorkerTests: XCTestCase {
  func testFileSourceRecordsAreReshapedAndKeyedBeforeTheTopic() throws {
    let worker = try WorkerProcess()
    let input = worker.directory.appendingPathComponent("users.jsonl")
    let lines = [
      #"{"id":1,"name":"Ann","password":"s3cret","city":"Oslo"}"#,
      #"["not","an","object"]"#,
      #"{"id":2,"name":"Bob","password":"hunter2","city":"Lima"}"#,
    ]
    try Data(lines.map { $0 + "\n" }.joined().utf8).write(to: input)
    try worker.writeConnector(
      "users",
      """
      name: users
      source: file
      topic: users
      config: { path: \(input.path), poll_ms: 20 }
      errors: { tolerance: all, dlq_topic: users.dlq }
      transforms:
        - name: origin
          type: org.apache.kafka.connect.transforms.InsertField$Value
          topic.field: source_topic
          static.field: origin
          static.value: users.jsonl
        - name: scrub
          type: org.apache.kafka.connect.transforms.ReplaceField$Value
          exclude: password
          renames: "name:full_name"
        - name: key
          type: ValueToKey
          fields: id
        - name: plain-key
          type: ExtractField$Key
          field: id
      """)
    try worker.start()
    try waitUntil("both records in the topic") { try worker.records("users").count == 2 }
    let records = try worker.records("users")
    XCTAssertEqual(records.map { ($0["key"] as? NSNumber)?.intValue }, [1, 2])
    let first = try XCTUnwrap(records.first?["value"] as? [String: Any])
    XCTAssertEqual(first["full_name"] as? String, "Ann")
    XCTAssertEqual(first["city"] as? String, "Oslo")
    XCTAssertEqual(first["source_topic"] as? String, "users")
    XCTAssertEqual(first["origin"] as? String, "users.jsonl")
    XCTAssertNil(first["password"], "excluded before the record was stored")
    XCTAssertNil(first["name"], "renamed")
    XCTAssertEqual((records.last?["value"] as? [String: Any])?["full_name"] as? String, "Bob")
    try waitUntil("the poison line in the dead-letter topic") {
      try worker.records("users.dlq").count == 1
    }
    let dead = try XCTUnwrap(worker.records("users.dlq").first)
    XCTAssertEqual(dead["value"] as? [String], ["not", "an", "object"], "as it came")
    let headers = dead["headers"] as? [String: Any]
    XCTAssertEqual(headers?["sluice.transform"] as? String, "origin")
    let reason = headers?["sluice.error.reason"] as? String ?? ""
    XCTAssertTrue(
      reason.contains("InsertField needs the record's value to be a JSON object"), reason)
  }
}
