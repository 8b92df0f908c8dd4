import Foundation
import XCTest

/// `filter_if` and `route_expr` on a real worker's source: test rows dropped, the rest routed by
/// content, and poison records (not JSON; a field of the wrong type) in the source's DLQ with
/// the transform's name and reason, while the records after them keep flowing.
final class ExpressionTransformWorkerTests: XCTestCase {
  func testFilterDropsTestRowsRoutesAndDeadLettersPoisonRecords() throws {
    let worker = try WorkerProcess()
    let port = try WorkerProcess.freePort()
    try worker.writeConnector(
      "orders",
      """
      name: orders
      source: webhook
      topic: orders
      config: { listen: 127.0.0.1:\(port), path: /orders, content: raw }
      errors: { tolerance: all }
      transforms:
        - name: no-test-rows
          type: filter_if
          if: 'value.op == "d" || value.after.status == "test" || value.after.amount > 1000'
        - name: by-region
          type: route_expr
          topic: 'value.after.region == "eu" ? "orders.eu" : "orders.other"'
      """)
    try worker.start()
    try waitUntil("webhook endpoint listening") { portIsOpen(port) }

    let bodies = [
      #"{"op":"c","after":{"id":1,"status":"new","amount":10,"region":"eu"}}"#,
      #"{"op":"c","after":{"id":2,"status":"test","amount":10,"region":"eu"}}"#,
      "not json at all",
      #"{"op":"c","after":{"id":3,"status":"new","amount":"lots","region":"us"}}"#,
      #"{"op":"d","after":null}"#,
      #"{"op":"u","after":{"id":4,"status":"new","amount":5,"region":"us"}}"#,
      #"{"op":"c","after":{"id":5,"status":"new","amount":5000,"region":"eu"}}"#,
    ]
    for body in bodies {
      let r = httpRequest(
        "POST", "http://127.0.0.1:\(port)/orders", headers: ["Content-Type": "application/json"],
        body: Data(body.utf8))
      XCTAssertEqual(r.status, 200, "\(body): \(String(decoding: r.body, as: UTF8.self))")
    }

    func ids(_ topic: String) throws -> [Int] {
      try worker.records(topic).compactMap { record in
        ((record["value"] as? [String: Any])?["after"] as? [String: Any])?["id"] as? Int
      }
    }
    try waitUntil("records routed") { (try? ids("orders.other")) == [4] }
    XCTAssertEqual(try ids("orders.eu"), [1], "test rows, deletes and big amounts dropped")
    XCTAssertEqual(try worker.records("orders").count, 0, "every kept record was routed")

    let dead = try worker.records("orders.dlq")
    XCTAssertEqual(dead.count, 2, "\(dead)")
    let headers = dead.map { $0["headers"] as? [String: String] ?? [:] }
    XCTAssertEqual(headers.map { $0["sluice.transform"] }, ["no-test-rows", "no-test-rows"])
    XCTAssertEqual(headers.map { $0["sluice.error.topic"] }, ["orders", "orders"])
    let reasons = headers.map { $0["sluice.error.reason"] ?? "" }
    XCTAssertTrue(reasons.contains { $0.contains("not JSON") }, "\(reasons)")
    XCTAssertTrue(
      reasons.contains { $0.contains("cannot order a string and a number") }, "\(reasons)")
    // The poison record is kept as it came.
    XCTAssertTrue(dead.contains { $0["value"] as? String == "not json at all" }, "\(dead)")

    let status = try worker.getJSON("/connectors/orders/status") as? [String: Any]
    let tasks = status?["tasks"] as? [[String: Any]] ?? []
    XCTAssertEqual(tasks.first?["state"] as? String, "RUNNING", "\(status ?? [:])")
  }
}
