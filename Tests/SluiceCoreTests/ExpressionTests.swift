import XCTest

@testable import SluiceCore

/// Sluice's expression language: the tokenizer's and parser's errors with their columns, every
/// operator and function, null-safe paths over parsed and unparsed records, and type errors.
final class ExpressionTests: XCTestCase {
  private let order =
    #"{"before":null,"after":{"id":7,"amount":12.5,"status":"test","region":"eu","order.id":"A-1","tags":["x","y"],"n":null},"op":"c"}"#

  private func record(
    value: String? = nil, key: String? = nil, headers: [RecordHeader] = [], topic: String = "orders"
  ) -> TransformRecord {
    TransformRecord(
      topic: topic, partition: 3, key: key.map { Array($0.utf8) },
      value: Array((value ?? order).utf8), headers: headers, timestamp: 1_700)
  }

  private func eval(_ text: String, _ record: TransformRecord? = nil) throws -> JSONValue {
    try Expression.parse(text).evaluate(record ?? self.record())
  }

  /// The same result whether the value is still bytes or a transform before has parsed it.
  private func check(
    _ text: String, _ expected: JSONValue, file: StaticString = #filePath, line: UInt = #line
  ) throws {
    XCTAssertEqual(try eval(text), expected, "bytes: \(text)", file: file, line: line)
    var parsed = record()
    _ = try parsed.value.json()
    XCTAssertEqual(try eval(text, parsed), expected, "tree: \(text)", file: file, line: line)
    var known = record()
    known.valueIsJSON = true
    XCTAssertEqual(try eval(text, known), expected, "known JSON: \(text)", file: file, line: line)
  }

  func testAValueKnownToBeJSONIsReadWithoutTheCheckAndAChangeForgetsIt() throws {
    // Not JSON: with the check it is a record error; marked as known JSON (which a source or
    // transform only does for JSON it wrote) the lookup trusts it.
    var record = record(value: #"{"id":7,"x":}"#)
    XCTAssertThrowsError(try eval("value.id", record))
    record.valueIsJSON = true
    XCTAssertEqual(try eval("value.id", record), .int(7))
    record.value = .bytes(Array(#"{"id":7,"x":}"#.utf8))
    XCTAssertFalse(record.valueIsJSON, "a new value is not known to be JSON")
    XCTAssertThrowsError(try eval("value.id", record))
  }

  private func syntaxError(_ text: String) -> ExpressionSyntaxError? {
    do {
      _ = try Expression.parse(text)
      return nil
    } catch { return error }
  }

  // MARK: - Tokens and syntax

  func testParseErrorsNameTheColumn() {
    let cases: [(String, Int, String)] = [
      ("startsWith(topic, 'a'", 22, "expected ')'"),
      ("value.op = 'd'", 10, "did you mean '=='"),
      ("value.op == 'd", 13, "not closed"),
      ("value.op == ", 13, "end of the expression"),
      ("", 1, "empty"),
      ("valeu.op", 1, "unknown name 'valeu'"),
      ("lenght(topic)", 1, "did you mean 'length'"),
      ("lower(topic, 1)", 15, "takes 1 argument"),
      ("matches(topic, value.re)", 1, "string literal"),
      ("matches(topic, '(')", 1, "not a valid regular expression"),
      ("topic == 'a' topic", 14, "expected an operator or the end"),
      ("value.after.", 13, "expected a field name"),
      ("1 # 2", 3, "unexpected character '#'"),
      ("value[true]", 1, "field index"),
      ("'a'.b", 4, "only a field"),
      ("1e", 3, "exponent"),
    ]
    for (text, column, message) in cases {
      guard let error = syntaxError(text) else {
        XCTFail("'\(text)' parses")
        continue
      }
      XCTAssertEqual(error.column, column, "\(text): \(error)")
      XCTAssertTrue(error.description.contains(message), "\(text): \(error)")
      XCTAssertTrue(error.description.hasPrefix("at column \(column): "), "\(error)")
    }
  }

  func testNestingIsCapped() {
    let deep = String(repeating: "(", count: 70) + "1" + String(repeating: ")", count: 70)
    XCTAssertTrue(syntaxError(deep)?.message.contains("nests deeper") == true)
    let nots = String(repeating: "!", count: 70) + "true"
    XCTAssertTrue(syntaxError(nots)?.message.contains("nests deeper") == true)
    let fine = String(repeating: "(", count: 30) + "1" + String(repeating: ")", count: 30)
    XCTAssertNil(syntaxError(fine))
  }

  func testLiterals() throws {
    try check("'it\\'s'", .string("it's"))
    try check(#""a\"b\n\u00e9""#, .string("a\"b\né"))
    try check("42", .int(42))
    try check("-42", .int(-42))
    try check("1.5", .double(1.5))
    try check("2e3", .double(2000))
    try check("true", .bool(true))
    try check("false", .bool(false))
    try check("null", .null)
    try check("[1, 'a', null]", .array([.int(1), .string("a"), .null]))
    try check("[]", .array([]))
  }

  // MARK: - Fields

  func testNullSafeFieldPaths() throws {
    try check("value.after.id", .int(7))
    try check("value.after.amount", .double(12.5))
    try check("value.after[\"order.id\"]", .string("A-1"))
    try check("value.after['status']", .string("test"))
    try check("value.after.tags[1]", .string("y"))
    try check("value.after.tags[5]", .null)
    try check("value.after.missing.deeper.still", .null)
    try check("value.before.id", .null)
    try check("value.after.id.x", .null)
    try check("value.after.n", .null)
    try check("value.after.tags", .array([.string("x"), .string("y")]))
    try check("op", .string("c"))
    try check("value.after[value.after.region == 'eu' ? 'status' : 'id']", .string("test"))
    try check("value.after[value.after.nothing]", .null)
    try check("value.op.x", .null)
  }

  func testTopicPartitionTimestampHeadersAndKey() throws {
    let r = record(
      key: #"{"id":7}"#,
      headers: [RecordHeader("source", "a"), RecordHeader("source", "b"), RecordHeader("x-y", "1")])
    XCTAssertEqual(try eval("topic", r), .string("orders"))
    XCTAssertEqual(try eval("partition", r), .int(3))
    XCTAssertEqual(try eval("timestamp", r), .int(1_700))
    XCTAssertEqual(try eval("headers.source", r), .string("b"), "the last of that name")
    XCTAssertEqual(try eval("headers['x-y']", r), .string("1"))
    XCTAssertEqual(try eval("headers.none", r), .null)
    XCTAssertEqual(try eval("key.id", r), .int(7))
    XCTAssertEqual(try eval("key.id", record()), .null, "no key")
  }

  func testAnExpressionOnTopicOrHeadersDoesNotReadTheValue() throws {
    // The value is not JSON: reading it would fail, so these did not.
    let r = record(value: "not json", headers: [RecordHeader("h", "v")])
    XCTAssertEqual(try eval("topic == 'orders' && headers.h == 'v'", r), .bool(true))
    XCTAssertThrowsError(try eval("value.op", r)) { error in
      XCTAssertTrue("\(error)".contains("not JSON"), "\(error)")
    }
    // Reading fields leaves the record's bytes as they were: nothing to write back.
    var unchanged = record()
    XCTAssertEqual(try eval("value.after.id", unchanged), .int(7))
    guard case .bytes = unchanged.value else { return XCTFail("still bytes") }
    _ = try unchanged.value.json()
    guard case .json = unchanged.value else { return XCTFail("parsed") }
  }

  // MARK: - Operators

  func testComparisons() throws {
    try check("value.after.id == 7", .bool(true))
    try check("value.after.id == 7.0", .bool(true))
    try check("value.after.id != 7", .bool(false))
    try check("value.after.id < 8", .bool(true))
    try check("value.after.id <= 7", .bool(true))
    try check("value.after.amount > 12", .bool(true))
    try check("value.after.amount >= 12.5", .bool(true))
    try check("'abc' < 'abd'", .bool(true))
    try check("'b' >= 'abc'", .bool(true))
    try check("value.after.id == '7'", .bool(false))
    try check("value.after.id != '7'", .bool(true))
    try check("value.after.missing == null", .bool(true))
    try check("value.after.missing > 1", .null)
    try check("value.after.tags == ['x', 'y']", .bool(true))
    try check("true == true", .bool(true))
  }

  func testOrderingDifferentTypesIsARecordError() {
    for text in ["value.after.status < 1", "true > false", "value.after.tags < 'a'"] {
      XCTAssertThrowsError(try eval(text), text) { error in
        XCTAssertTrue("\(error)".contains("cannot order"), "\(error)")
        XCTAssertTrue("\(error)".hasPrefix("at column "), "\(error)")
      }
    }
  }

  func testLogicShortCircuitsAndNullIsFalse() throws {
    try check("true && false", .bool(false))
    try check("true || false", .bool(true))
    try check("!true", .bool(false))
    try check("!value.after.missing", .bool(true))
    try check("value.after.missing && true", .bool(false))
    try check("value.after.missing || true", .bool(true))
    // The right side is not evaluated, so its type error does not happen.
    try check("false && value.after.status < 1", .bool(false))
    try check("true || value.after.status < 1", .bool(true))
    try check("op == 'd' || value.after.status == 'test'", .bool(true))
    XCTAssertThrowsError(try eval("value.after.status && true")) { error in
      XCTAssertTrue("\(error)".contains("'&&' needs true or false, got a string"), "\(error)")
    }
    XCTAssertThrowsError(try eval("!1"))
  }

  func testInConditionalAndPlus() throws {
    try check("value.after.region in ['eu', 'uk']", .bool(true))
    try check("value.after.id in [1, 2]", .bool(false))
    try check("'y' in value.after.tags", .bool(true))
    try check("op in [value.after.region, 'c']", .bool(true))
    try check("value.after.region in value.after.missing", .null)
    XCTAssertThrowsError(try eval("'e' in value.after.region"))
    try check("value.after.region == 'eu' ? 'orders.eu' : 'orders.other'", .string("orders.eu"))
    try check("value.after.missing ? 1 : 2", .int(2))
    try check("1 + 2", .int(3))
    try check("1 + 0.5", .double(1.5))
    try check("'orders.' + value.after.region", .string("orders.eu"))
    try check("'id-' + value.after.id", .string("id-7"))
    try check("'x' + value.after.missing", .null)
    try check("-value.after.id", .int(-7))
    try check("9223372036854775807 + 1", .double(9_223_372_036_854_775_808))
    XCTAssertThrowsError(try eval("true + 1"))
    XCTAssertThrowsError(try eval("-'a'"))
  }

  // MARK: - Functions

  func testStringFunctions() throws {
    try check("startsWith(topic, 'ord')", .bool(true))
    try check("endsWith(value.after['order.id'], '-1')", .bool(true))
    try check("contains(value.after.status, 'es')", .bool(true))
    try check("lower('ÀB')", .string("àb"))
    try check("upper(value.after.region)", .string("EU"))
    try check("length(value.after.status)", .int(4))
    try check("length(value.after.tags)", .int(2))
    try check("length(value.after)", .int(7))
    try check("isNull(value.after.missing)", .bool(true))
    try check("isNull(value.after.id)", .bool(false))
    try check("matches(value.after['order.id'], '[A-Z]-[0-9]+')", .bool(true))
    try check("matches(value.after['order.id'], '[0-9]+')", .bool(false))  // the whole string must match
    try check("startsWith(value.after.missing, 'a')", .null)
    try check("lower(value.after.missing)", .null)
    try check("matches(value.after.missing, 'a')", .null)
    for text in [
      "matches(value.after.id, 'a')", "startsWith(value.after.id, '7')", "upper(1)",
      "length(true)",
    ] {
      XCTAssertThrowsError(try eval(text), text) { error in
        XCTAssertTrue("\(error)".contains("needs"), "\(error)")
      }
    }
  }

  func testEscapedMemberNamesInTheRecordAreFound() throws {
    let r = record(value: #"{"a\u002eb":1,"c":{"d\"e":2}}"#)
    XCTAssertEqual(try eval("value['a.b']", r), .int(1))
    XCTAssertEqual(try eval("value.c['d\"e']", r), .int(2))
  }
}
