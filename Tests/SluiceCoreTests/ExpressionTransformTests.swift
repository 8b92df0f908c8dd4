import SluiceCore
import XCTest

/// `filter_if` and `route_expr`, and Debezium's Filter and ContentBasedRouter with the same
/// language: what they keep, drop and route, their options and their errors.
final class ExpressionTransformTests: XCTestCase {
  private func chain(_ transforms: String) throws -> TransformChain {
    try ConnectorDefinition.parse(
      text: "name: c\nsource: file\ntopic: t\nconfig: { path: /x }\ntransforms:\n" + transforms,
      file: "c.yaml", environment: [:]
    ).transforms
  }

  private func event(_ op: String, status: String = "new", region: String? = "eu")
    -> TransformRecord
  {
    let regionJSON = region.map { "\"\($0)\"" } ?? "null"
    let value = #"{"after":{"id":1,"status":"\#(status)","region":\#(regionJSON)},"op":"\#(op)"}"#
    return TransformRecord(topic: "orders", key: nil, value: Array(value.utf8), timestamp: 0)
  }

  private func kept(_ chain: TransformChain, _ record: TransformRecord) -> TransformRecord? {
    if case .record(let out) = chain.apply(record) { return out }
    return nil
  }

  func testFilterIfDropsWhatItsConditionIsTrueFor() throws {
    let c = try chain(
      """
        - type: filter_if
          if: 'value.op == "d" || value.after.status == "test"'
      """)
    XCTAssertNotNil(kept(c, event("c")))
    XCTAssertNil(kept(c, event("d")))
    XCTAssertNil(kept(c, event("u", status: "test")))
    // A kept record is passed on as it came: the filter read it in place.
    guard case .bytes = kept(c, event("c"))?.value else { return XCTFail("not rewritten") }
  }

  func testDebeziumFilterKeepsWhatItsConditionIsTrueFor() throws {
    let c = try chain(
      """
        - type: io.debezium.transforms.Filter
          language: sluice
          condition: value.op == 'd'
      """)
    XCTAssertNotNil(kept(c, event("d")))
    XCTAssertNil(kept(c, event("c")))
    // Tombstones pass by default (null.handling.mode: keep).
    XCTAssertNotNil(kept(c, TransformRecord(topic: "orders", key: nil, value: nil, timestamp: 0)))
  }

  func testDebeziumNullHandlingAndTopicRegex() throws {
    let c = try chain(
      """
        - type: io.debezium.transforms.Filter
          condition: value.op == 'c'
          null.handling.mode: drop
          topic.regex: "orders|users"
      """)
    XCTAssertNil(kept(c, TransformRecord(topic: "orders", key: nil, value: nil, timestamp: 0)))
    var other = event("d")
    other.topic = "audit"
    XCTAssertNotNil(kept(c, other), "a topic topic.regex does not match is not evaluated")
    XCTAssertNil(kept(c, event("d")))
  }

  func testScriptLanguagesAreRefused() {
    XCTAssertThrowsError(
      try chain(
        """
          - type: io.debezium.transforms.Filter
            language: jsr223.groovy
            condition: value.op == 'd'
        """)
    ) { error in
      XCTAssertTrue("\(error)".hasPrefix("c.yaml:7:"), "\(error)")
      XCTAssertTrue("\(error)".contains("does not run scripts"), "\(error)")
    }
    XCTAssertThrowsError(
      try chain(
        """
          - type: io.debezium.transforms.ContentBasedRouter
            language: python
            topic.expression: topic
        """))
  }

  func testBadExpressionsAreConfigErrorsWithLineAndColumn() {
    XCTAssertThrowsError(
      try chain(
        """
          - type: filter_if
            if: 'value.op == "d" || (value.after.status == "test"'
        """)
    ) { error in
      XCTAssertTrue("\(error)".hasPrefix("c.yaml:7:"), "\(error)")
      XCTAssertTrue("\(error)".contains("at column 49: expected ')'"), "\(error)")
    }
    XCTAssertThrowsError(try chain("  - type: filter_if\n")) { error in
      XCTAssertTrue("\(error)".contains("needs 'if'"), "\(error)")
    }
    XCTAssertThrowsError(try chain("  - type: route_expr\n    topic: x\n    regex: y\n")) { error in
      XCTAssertTrue("\(error)".contains("no option 'regex'"), "\(error)")
    }
  }

  func testRouteExprSetsTheTopicFromTheExpression() throws {
    let c = try chain(
      """
        - type: route_expr
          topic: 'value.after.region == "eu" ? "orders.eu" : value.after.region == null ? null : "orders.other"'
      """)
    XCTAssertEqual(kept(c, event("c"))?.topic, "orders.eu")
    XCTAssertEqual(kept(c, event("c", region: "us"))?.topic, "orders.other")
    XCTAssertEqual(kept(c, event("c", region: nil))?.topic, "orders", "null keeps the topic")
  }

  func testContentBasedRouterAndItsRecordErrors() throws {
    let c = try chain(
      """
        - name: by-region
          type: io.debezium.transforms.ContentBasedRouter
          topic.expression: "'orders.' + value.after.region"
      """)
    XCTAssertEqual(kept(c, event("c", region: "apac"))?.topic, "orders.apac")
    guard case .failed(let step, let reason) = c.apply(event("c", region: "a b")) else {
      return XCTFail("an invalid topic name fails")
    }
    XCTAssertEqual(step, "by-region")
    XCTAssertTrue(reason.contains("not a valid topic name"), reason)
    let numeric = try chain("  - type: route_expr\n    topic: value.after.id\n")
    guard case .failed(_, let notString) = numeric.apply(event("c")) else {
      return XCTFail("a number is not a topic")
    }
    XCTAssertTrue(notString.contains("gave a number, not a string"), notString)
  }

  func testAnExpressionThatFailsOnARecordIsARecordError() throws {
    let c = try chain(
      """
        - name: amounts
          type: filter_if
          if: value.after.status > 10
      """)
    guard case .failed(let step, let reason) = c.apply(event("c")) else {
      return XCTFail("ordering a string against a number fails")
    }
    XCTAssertEqual(step, "amounts")
    XCTAssertTrue(reason.contains("cannot order a string and a number"), reason)
    let notJSON = TransformRecord(topic: "t", key: nil, value: Array("oops".utf8), timestamp: 0)
    guard case .failed(_, let why) = c.apply(notJSON) else { return XCTFail("not JSON fails") }
    XCTAssertTrue(why.contains("not JSON"), why)
    let notBoolean = try chain("  - type: filter_if\n    if: value.after.id\n")
    guard case .failed = notBoolean.apply(event("c")) else {
      return XCTFail("a condition that is not a boolean fails")
    }
  }

  func testKafkaConnectFlatFormTakesDebeziumsNames() throws {
    let file = try ConnectConfigFile.parse(
      text: """
        {"name": "c", "config": {"connector.class": "sluice.source.tester", "topic": "t",
          "transforms": "filter,route",
          "transforms.filter.type": "io.debezium.transforms.Filter",
          "transforms.filter.language": "sluice",
          "transforms.filter.condition": "value.op != 'd'",
          "transforms.route.type": "io.debezium.transforms.ContentBasedRouter",
          "transforms.route.topic.expression": "value.after.region == 'eu' ? 'orders.eu' : 'orders.other'"}}
        """, file: "c.json")
    var registry = ConnectorRegistry()
    registry.registerSource("tester") { _ in throw TransformError("not built in this test") }
    let d = try registry.definition(
      name: "c", config: file.config, file: "c.json",
      interpolation: Interpolation(environment: [:], secretsDirectories: []))
    XCTAssertEqual(kept(d.transforms, event("c", region: "us"))?.topic, "orders.other")
    XCTAssertNil(kept(d.transforms, event("d")))
  }
}
