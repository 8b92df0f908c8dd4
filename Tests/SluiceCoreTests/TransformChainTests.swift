import SluiceCore
import XCTest

/// The chain itself: built from a connector file's `transforms:` and `predicates:` and from
/// Kafka Connect's flat form alike, predicates with `negate`, drops, failures naming the step,
/// file:line errors, and the lazy key/value (parsed once, written back once).
final class TransformChainTests: XCTestCase {
  private func definition(_ text: String) throws -> ConnectorDefinition {
    try ConnectorDefinition.parse(text: text, file: "c.yaml", environment: [:])
  }

  private func record(_ topic: String, value: String? = "{\"a\":1}", headers: [RecordHeader] = [])
    -> TransformRecord
  {
    TransformRecord(
      topic: topic, key: nil, value: value.map { Array($0.utf8) }, headers: headers,
      timestamp: 0)
  }

  func testRouteAndFilterWithPredicatesFromAConnectorFile() throws {
    let d = try definition(
      """
      name: c
      source: file
      topic: t
      config: { path: /x }
      transforms:
        - name: rename
          type: RegexRouter
          regex: "db\\\\.public\\\\.(.*)"
          replacement: "$1"
        - name: no-tombstones
          type: org.apache.kafka.connect.transforms.Filter
          predicate: tombstone
        - name: only-orders
          type: filter
          predicate: orders
          negate: true
      predicates:
        tombstone: { type: RecordIsTombstone }
        orders: { type: TopicNameMatches, pattern: "orders.*" }
      """)
    XCTAssertEqual(d.transforms.steps.map(\.name), ["rename", "no-tombstones", "only-orders"])
    guard case .record(let out) = d.transforms.apply(record("db.public.orders")) else {
      return XCTFail("kept")
    }
    XCTAssertEqual(out.topic, "orders")
    guard case .dropped = d.transforms.apply(record("db.public.orders", value: nil)) else {
      return XCTFail("a tombstone is dropped")
    }
    guard case .dropped = d.transforms.apply(record("db.public.users")) else {
      return XCTFail("negate: what is not orders is dropped")
    }
  }

  func testKafkaConnectFlatFormBuildsTheSameChain() throws {
    let file = try ConnectConfigFile.parse(
      text: """
        {"name": "c", "config": {"connector.class": "sluice.source.tester", "topic": "t",
          "transforms": "route,drop", "transforms.route.type": "org.apache.kafka.connect.transforms.RegexRouter",
          "transforms.route.regex": "(.*)", "transforms.route.replacement": "copy.$1",
          "transforms.drop.type": "Filter", "transforms.drop.predicate": "isTomb",
          "predicates": "isTomb", "predicates.isTomb.type": "org.apache.kafka.connect.transforms.predicates.RecordIsTombstone"}}
        """, file: "c.json")
    var registry = ConnectorRegistry()
    registry.registerSource("tester") { _ in throw TransformError("not built in this test") }
    let d = try registry.definition(
      name: "c", config: file.config, file: "c.json",
      interpolation: Interpolation(environment: [:], secretsDirectories: []))
    XCTAssertEqual(d.transforms.steps.map(\.name), ["route", "drop"])
    guard case .record(let out) = d.transforms.apply(record("orders")) else {
      return XCTFail("kept")
    }
    XCTAssertEqual(out.topic, "copy.orders")
    guard case .dropped = d.transforms.apply(record("orders", value: nil)) else {
      return XCTFail("the predicate drops tombstones")
    }
    XCTAssertThrowsError(
      try registry.definition(
        name: "c",
        config: ConnectConfig([
          "connector.class": "sluice.source.tester", "topic": "t", "transforms": "r",
          "transforms.r.type": "RegexRouter", "transforms.r.regex": "(.*)",
        ]), file: "c.json", interpolation: Interpolation(environment: [:], secretsDirectories: []))
    ) { error in
      XCTAssertTrue("\(error)".contains("transforms.r.replacement"), "\(error)")
    }
  }

  func testBadTransformConfigsAreErrorsAtTheirLine() throws {
    let cases: [(String, String)] = [
      ("    - type: RegexRotuer\n", "c.yaml:6: did you mean 'RegexRouter'?"),
      ("    - type: RegexRouter\n      regex: \"(\"\n      replacement: x\n", "regex"),
      ("    - type: RegexRouter\n      regex: a\n", "needs 'replacement'"),
      ("    - type: RegexRouter\n      regex: a\n      replacement: b\n      replacemnt: c\n", "did you mean 'replacement'"),
      ("    - type: Filter\n      predicate: nope\n", "unknown predicate 'nope'"),
      ("    - type: Filter\n      negate: true\n", "'negate' applies to a predicate"),
    ]
    for (transforms, expected) in cases {
      XCTAssertThrowsError(
        try definition("name: c\nsource: file\ntopic: t\nconfig: { path: /x }\ntransforms:\n" + transforms)
      ) { error in
        // At the line of what is wrong: the type, or the option.
        let line = "\(error)".split(separator: ":").dropFirst().first.flatMap { Int($0) } ?? 0
        XCTAssertTrue("\(error)".hasPrefix("c.yaml:") && line >= 6, "\(error)")
        let reason = expected.hasPrefix("c.yaml:6: ") ? String(expected.dropFirst(10)) : expected
        XCTAssertTrue("\(error)".contains(reason), "\(error)")
      }
    }
  }

  func testAFailingStepIsNamedAndTheValueIsParsedOnce() throws {
    struct NeedsField: Transform {
      func apply(to record: inout TransformRecord) throws(TransformError) -> Bool {
        guard case .object(var o) = try record.value.json(), o["a"] != nil else {
          throw TransformError("no field a")
        }
        o["b"] = .int(2)
        record.value = .json(.object(o))
        return true
      }
    }
    let chain = TransformChain([
      .init(name: "first", transform: NeedsField()), .init(name: "second", transform: NeedsField()),
    ])
    guard case .record(let out) = chain.apply(record("t", value: "{\"a\":1}")) else {
      return XCTFail("applies")
    }
    XCTAssertEqual(out.value.bytes.map { String(decoding: $0, as: UTF8.self) }, "{\"a\":1,\"b\":2}")
    guard case .failed(let step, let reason) = chain.apply(record("t", value: "{\"c\":1}")) else {
      return XCTFail("fails")
    }
    XCTAssertEqual(step, "first")
    XCTAssertEqual(reason, "no field a")
    guard case .failed(_, let notJSON) = chain.apply(record("t", value: "plain text")) else {
      return XCTFail("fails")
    }
    XCTAssertTrue(notJSON.contains("not JSON"), notJSON)
  }

  func testJSONKeepsOrderAndIntegers() {
    let text = #"{"z":1,"a":[true,null,1.5,"x\n"],"big":9007199254740993,"o":{}}"#
    let value = JSONValue.parse(Array(text.utf8))
    XCTAssertEqual(value?.jsonText, text)
    XCTAssertNil(JSONValue.parse(Array("{\"a\":}".utf8)))
  }
}
