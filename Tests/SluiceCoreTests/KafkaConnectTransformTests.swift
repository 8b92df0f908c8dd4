import SluiceCore
import XCTest

/// Kafka Connect's transforms (InsertField … TimestampRouter) with Kafka's options, on
/// schemaless JSON records: each against records written from Kafka's and Confluent's documented
/// examples, `$Key`/`$Value`, V2 paths, record errors, and config errors at their line.
final class KafkaConnectTransformTests: XCTestCase {
  struct Failed: Error { var reason: String }

  /// A connector file with `transforms` (YAML list items, indented by two).
  private func definition(_ transforms: String) throws -> ConnectorDefinition {
    try ConnectorDefinition.parse(
      text: "name: c\nsource: file\ntopic: t\nconfig: { path: /x }\ntransforms:\n" + transforms,
      file: "c.yaml", environment: [:])
  }

  /// One transform of `type` with `options`, as a list item.
  private func item(_ type: String, _ options: KeyValuePairs<String, String>) -> String {
    var text = "  - type: \"\(type)\"\n"
    for (key, value) in options {
      let escaped = value.replacingOccurrences(of: "\\", with: "\\\\")
        .replacingOccurrences(of: "\"", with: "\\\"")
      text += "    \(key): \"\(escaped)\"\n"
    }
    return text
  }

  private func record(
    topic: String = "orders", key: String? = nil, value: String?, partition: Int? = nil,
    offset: Int64? = nil, timestamp: Int64 = 1_700_000_000_000, headers: [RecordHeader] = []
  ) -> TransformRecord {
    TransformRecord(
      topic: topic, partition: partition, key: key.map { Array($0.utf8) },
      value: value.map { Array($0.utf8) }, headers: headers, timestamp: timestamp, offset: offset)
  }

  /// The record the chain made, or the reason it failed.
  private func run(_ transforms: String, _ input: TransformRecord) throws -> TransformRecord {
    switch try definition(transforms).transforms.apply(input) {
    case .record(let out): return out
    case .dropped: throw Failed(reason: "dropped")
    case .failed(_, let reason): throw Failed(reason: reason)
    }
  }

  private func apply(
    _ type: String, _ options: KeyValuePairs<String, String>, _ input: TransformRecord
  ) throws -> TransformRecord {
    try run(item(type, options), input)
  }

  /// The reason a record error gives.
  private func failure(
    _ type: String, _ options: KeyValuePairs<String, String>, _ input: TransformRecord
  ) -> String {
    do {
      _ = try apply(type, options, input)
      return "applied"
    } catch let error as Failed {
      return error.reason
    } catch {
      return "config error: \(error)"
    }
  }

  private func text(_ part: RecordPart) -> String? {
    part.bytes.map { String(decoding: $0, as: UTF8.self) }
  }

  private func header(_ record: TransformRecord, _ name: String) -> String? {
    record.headers.last { $0.name == name }?.value.map { String(decoding: $0, as: UTF8.self) }
  }

  // MARK: - InsertField

  func testInsertFieldAddsAStaticFieldAndTheRecordsMetadata() throws {
    // Confluent's example: static.field MessageSource = "Kafka Connect framework".
    var out = try apply(
      "org.apache.kafka.connect.transforms.InsertField$Value",
      ["static.field": "MessageSource", "static.value": "Kafka Connect framework"],
      record(value: #"{"id":1}"#))
    XCTAssertEqual(text(out.value), #"{"id":1,"MessageSource":"Kafka Connect framework"}"#)
    // A sink's record: topic, partition, offset and timestamp; `!`/`?` only mark optionality.
    out = try apply(
      "insert_field",
      [
        "topic.field": "topic!", "partition.field": "partition?", "offset.field": "offset",
        "timestamp.field": "ts",
      ], record(value: #"{"id":1}"#, partition: 2, offset: 41))
    XCTAssertEqual(
      text(out.value),
      #"{"id":1,"topic":"orders","partition":2,"offset":41,"ts":1700000000000}"#)
    // A source's record has no partition yet: that field is left out.
    out = try apply(
      "InsertField$Value", ["partition.field": "p", "topic.field": "t"], record(value: "{}"))
    XCTAssertEqual(text(out.value), #"{"t":"orders"}"#)
    // $Key works on the key; a field already there is replaced where it is.
    out = try apply(
      "InsertField$Key", ["topic.field": "table"],
      record(key: #"{"table":"x","id":3}"#, value: "{}"))
    XCTAssertEqual(text(out.key), #"{"table":"orders","id":3}"#)
    XCTAssertEqual(text(out.value), "{}")
  }

  func testInsertFieldPassesTombstonesAndRefusesWhatIsNotAnObject() throws {
    let out = try apply("insert_field", ["topic.field": "t"], record(value: nil))
    XCTAssertNil(out.value.bytes)
    XCTAssertEqual(
      failure("insert_field", ["topic.field": "t"], record(value: "[1]")),
      "InsertField needs the record's value to be a JSON object, got an array")
    XCTAssertTrue(
      failure("insert_field", ["offset.field": "o"], record(value: "{}")).contains(
        "sink connectors"))
  }

  // MARK: - ReplaceField

  func testReplaceFieldIncludesExcludesAndRenames() throws {
    let value = #"{"c1":22,"c2":100,"c3":"x"}"#
    // Confluent's examples: exclude c2; include c1 and c2; rename c1 → foo, c2 → bar.
    var out = try apply("ReplaceField$Value", ["exclude": "c2"], record(value: value))
    XCTAssertEqual(text(out.value), #"{"c1":22,"c3":"x"}"#)
    out = try apply("replace_field", ["include": "c1,c2"], record(value: value))
    XCTAssertEqual(text(out.value), #"{"c1":22,"c2":100}"#)
    out = try apply("replace_field", ["renames": "c1:foo,c2:bar"], record(value: value))
    XCTAssertEqual(text(out.value), #"{"foo":22,"bar":100,"c3":"x"}"#)
    // exclude wins over include; the deprecated names still work.
    out = try apply("replace_field", ["include": "c1,c2", "exclude": "c1"], record(value: value))
    XCTAssertEqual(text(out.value), #"{"c2":100}"#)
    out = try apply("replace_field", ["whitelist": "c3"], record(value: value))
    XCTAssertEqual(text(out.value), #"{"c3":"x"}"#)
    out = try apply("replace_field", ["blacklist": "c3"], record(value: value))
    XCTAssertEqual(text(out.value), #"{"c1":22,"c2":100}"#)
    out = try apply(
      "ReplaceField$Key", ["exclude": "tenant"], record(key: #"{"tenant":1,"id":2}"#, value: "{}"))
    XCTAssertEqual(text(out.key), #"{"id":2}"#)
    XCTAssertNil(try apply("replace_field", ["exclude": "a"], record(value: nil)).value.bytes)
  }

  // MARK: - MaskField

  func testMaskFieldMasksToTheEmptyValueOrTheReplacement() throws {
    let value =
      #"{"name":"Ann","age":42,"score":9.5,"vip":true,"tags":["a"],"addr":{"city":"X"},"note":null}"#
    var out = try apply(
      "org.apache.kafka.connect.transforms.MaskField$Value",
      ["fields": "name,age,score,vip,tags,addr,note,missing"], record(value: value))
    XCTAssertEqual(
      text(out.value),
      #"{"name":"","age":0,"score":0.0,"vip":false,"tags":[],"addr":{},"note":null}"#)
    // Confluent's example: a replacement for strings and numbers.
    out = try apply(
      "mask_field", ["fields": "name", "replacement": "<redacted>"], record(value: value))
    XCTAssertTrue(text(out.value)!.hasPrefix(#"{"name":"<redacted>","age":42"#))
    out = try apply(
      "mask_field", ["fields": "age,score", "replacement": "-1"], record(value: value))
    XCTAssertTrue(text(out.value)!.contains(#""age":-1,"score":-1.0"#), text(out.value)!)
    XCTAssertEqual(
      failure("mask_field", ["fields": "age", "replacement": "n/a"], record(value: value)),
      "cannot mask the integer field 'age' with 'n/a'")
    XCTAssertTrue(
      failure("mask_field", ["fields": "vip", "replacement": "x"], record(value: value))
        .contains("a boolean, with a replacement"))
    // V2: a nested field; V1 (the default) takes the dotted name as one field.
    out = try apply(
      "mask_field", ["fields": "addr.city", "field.syntax.version": "V2"], record(value: value))
    XCTAssertTrue(text(out.value)!.contains(#""addr":{"city":""}"#))
    out = try apply(
      "mask_field", ["fields": "addr.city"],
      record(value: #"{"addr.city":"Y","addr":{"city":"X"}}"#))
    XCTAssertEqual(text(out.value), #"{"addr.city":"","addr":{"city":"X"}}"#)
    out = try apply("MaskField$Key", ["fields": "ssn"], record(key: #"{"ssn":"123"}"#, value: "{}"))
    XCTAssertEqual(text(out.key), #"{"ssn":""}"#)
  }

  // MARK: - ValueToKey, ExtractField, HoistField

  func testValueToKeyThenExtractFieldKeyMakesAPlainKey() throws {
    // Confluent's example: ValueToKey on userId, then ExtractField$Key userId.
    let out = try run(
      item("org.apache.kafka.connect.transforms.ValueToKey", ["fields": "userId,city"])
        + item("ExtractField$Key", ["field": "userId"]),
      record(value: #"{"userId":42,"city":"Oslo","state":"x"}"#))
    XCTAssertEqual(text(out.key), "42")
    XCTAssertEqual(text(out.value), #"{"userId":42,"city":"Oslo","state":"x"}"#)
    let key = try apply(
      "value_to_key", ["fields": "userId,city,zip"], record(value: #"{"userId":42,"city":"Oslo"}"#))
    XCTAssertEqual(text(key.key), #"{"userId":42,"city":"Oslo","zip":null}"#)
    let nested = try apply(
      "value_to_key", ["fields": "after.id", "field.syntax.version": "V2"],
      record(value: #"{"after":{"id":5,"n":"x"}}"#))
    XCTAssertEqual(text(nested.key), #"{"after":{"id":5}}"#)
    XCTAssertEqual(
      failure("value_to_key", ["fields": "id"], record(value: "7")),
      "ValueToKey needs the record's value to be a JSON object, got an integer")
  }

  func testExtractFieldTakesOneFieldOfKeyOrValue() throws {
    var out = try apply(
      "ExtractField$Value", ["field": "after"], record(value: #"{"after":{"id":1},"op":"c"}"#))
    XCTAssertEqual(text(out.value), #"{"id":1}"#)
    out = try apply(
      "extract_field", ["field": "after.id", "field.syntax.version": "V2"],
      record(value: #"{"after":{"id":1}}"#))
    XCTAssertEqual(text(out.value), "1")
    // Missing: null (a tombstone); null passes.
    out = try apply("extract_field", ["field": "nope"], record(value: #"{"a":1}"#))
    XCTAssertNil(out.value.bytes)
    out = try apply("ExtractField$Key", ["field": "id"], record(key: nil, value: "{}"))
    XCTAssertNil(out.key.bytes)
    XCTAssertTrue(
      failure("extract_field", ["field": "a"], record(value: #""text""#)).contains("got a string"))
  }

  func testHoistFieldWrapsTheWholeValue() throws {
    // Kafka's example: 42 with field "line" becomes {"line":42}.
    var out = try apply("HoistField$Value", ["field": "line"], record(value: "42"))
    XCTAssertEqual(text(out.value), #"{"line":42}"#)
    out = try apply("HoistField$Key", ["field": "id"], record(key: #""k1""#, value: "{}"))
    XCTAssertEqual(text(out.key), #"{"id":"k1"}"#)
    out = try apply("hoist_field", ["field": "v"], record(value: #"{"a":1}"#))
    XCTAssertEqual(text(out.value), #"{"v":{"a":1}}"#)
  }

  // MARK: - Flatten

  func testFlattenJoinsNestedNamesWithTheDelimiter() throws {
    // Confluent's example: content.id, content.name.first, …
    let value =
      #"{"content":{"id":42,"name":{"first":"David","middle":null,"last":"Wong"}},"tags":[{"a":1}]}"#
    var out = try apply(
      "org.apache.kafka.connect.transforms.Flatten$Value", [:], record(value: value))
    XCTAssertEqual(
      text(out.value),
      #"{"content.id":42,"content.name.first":"David","content.name.middle":null,"content.name.last":"Wong","tags":[{"a":1}]}"#
    )
    out = try apply("flatten", ["delimiter": "_"], record(value: value))
    XCTAssertTrue(text(out.value)!.hasPrefix(#"{"content_id":42,"content_name_first":"David""#))
    out = try apply("Flatten$Key", [:], record(key: #"{"a":{"b":1}}"#, value: nil))
    XCTAssertEqual(text(out.key), #"{"a.b":1}"#)
    XCTAssertNil(out.value.bytes)
  }

  // MARK: - Cast

  func testCastFieldsAndWholeValues() throws {
    // Confluent's example: ID to string, score to float64.
    var out = try apply(
      "Cast$Value", ["spec": "ID:string,score:float64"],
      record(value: #"{"ID":46,"score":4,"name":"x"}"#))
    XCTAssertEqual(text(out.value), #"{"ID":"46","score":4.0,"name":"x"}"#)
    out = try apply(
      "cast",
      [
        "spec":
          "a:int8,b:int16,c:int32,d:int64,e:float32,f:boolean,g:boolean,h:int32,i:string,j:boolean"
      ],
      record(
        value:
          #"{"a":300,"b":"-12","c":3.99,"d":true,"e":"1.1","f":0,"g":"TRUE","h":-3.7,"i":{"x":1},"j":"yes"}"#
      ))
    XCTAssertEqual(
      text(out.value),
      #"{"a":44,"b":-12,"c":3,"d":1,"e":1.1,"f":false,"g":true,"h":-3,"i":"{\"x\":1}","j":false}"#)
    out = try apply("Cast$Key", ["spec": "int64"], record(key: #""123""#, value: "{}"))
    XCTAssertEqual(text(out.key), "123")
    out = try apply(
      "cast", ["spec": "after.price:float64", "field.syntax.version": "V2"],
      record(value: #"{"after":{"price":"9.99"}}"#))
    XCTAssertEqual(text(out.value), #"{"after":{"price":9.99}}"#)
    // Null and missing fields are left alone; a tombstone passes.
    out = try apply("cast", ["spec": "a:int32,b:int32"], record(value: #"{"a":null}"#))
    XCTAssertEqual(text(out.value), #"{"a":null}"#)
    XCTAssertNil(try apply("cast", ["spec": "int32"], record(value: nil)).value.bytes)
    XCTAssertEqual(
      failure("cast", ["spec": "a:int8"], record(value: #"{"a":"300"}"#)),
      #"cannot cast the field 'a', a string "300", to int8"#)
    XCTAssertTrue(
      failure("cast", ["spec": "a:int32"], record(value: #"{"a":[1]}"#)).contains("an array"))
  }

  // MARK: - TimestampConverter

  func testTimestampConverterBetweenUnixStringAndKafkasTypes() throws {
    // Confluent's example: a Unix-millisecond field to a yyyy-MM-dd string.
    let value = #"{"event_date_long":1700000000000,"x":1}"#
    var out = try apply(
      "org.apache.kafka.connect.transforms.TimestampConverter$Value",
      ["field": "event_date_long", "target.type": "string", "format": "yyyy-MM-dd"],
      record(value: value))
    XCTAssertEqual(text(out.value), #"{"event_date_long":"2023-11-14","x":1}"#)
    out = try apply(
      "timestamp_converter",
      ["field": "t", "target.type": "string", "format": "yyyy-MM-dd'T'HH:mm:ss.SSSXXX"],
      record(value: #"{"t":1700000000123}"#))
    XCTAssertEqual(text(out.value), #"{"t":"2023-11-14T22:13:20.123Z"}"#)
    // A string read with its format, offsets included, to unix in each precision.
    let iso = #"{"t":"2023-11-15T00:13:20.123+02:00"}"#
    let isoFormat = "yyyy-MM-dd'T'HH:mm:ss.SSSXXX"
    for (precision, expected) in [
      ("seconds", "1700000000"), ("milliseconds", "1700000000123"),
      ("microseconds", "1700000000123000"), ("nanoseconds", "1700000000123000000"),
    ] {
      out = try apply(
        "timestamp_converter",
        ["field": "t", "target.type": "unix", "format": isoFormat, "unix.precision": precision],
        record(value: iso))
      XCTAssertEqual(text(out.value), #"{"t":\#(expected)}"#, precision)
    }
    // Unix input in microseconds; Kafka's Timestamp, Date and Time as its JSON converter writes them.
    out = try apply(
      "timestamp_converter",
      ["field": "t", "target.type": "Timestamp", "unix.precision": "microseconds"],
      record(value: #"{"t":1700000000123456}"#))
    XCTAssertEqual(text(out.value), #"{"t":1700000000123}"#)
    out = try apply(
      "TimestampConverter$Value", ["target.type": "Date"], record(value: "1700000000123"))
    XCTAssertEqual(text(out.value), "19675")
    out = try apply(
      "TimestampConverter$Value", ["target.type": "Time"], record(value: "1700000000123"))
    XCTAssertEqual(text(out.value), "80000123")
    out = try apply(
      "TimestampConverter$Key",
      ["target.type": "unix", "format": "yyyyMMddHHmmss", "unix.precision": "seconds"],
      record(key: #""20231114221320""#, value: "{}"))
    XCTAssertEqual(text(out.key), "1700000000")
    out = try apply(
      "timestamp_converter",
      [
        "field": "a.t", "field.syntax.version": "V2", "target.type": "string",
        "format": "dd MMM yyyy hh:mm a Z",
      ],
      record(value: #"{"a":{"t":1700000000000}}"#))
    XCTAssertEqual(text(out.value), #"{"a":{"t":"14 Nov 2023 10:13 PM +0000"}}"#)
    XCTAssertEqual(
      failure(
        "timestamp_converter", ["field": "t", "target.type": "unix", "format": "yyyy-MM-dd"],
        record(value: #"{"t":"14/11/2023"}"#)),
      "the field 't', '14/11/2023', does not match the format 'yyyy-MM-dd'")
    XCTAssertTrue(
      failure(
        "timestamp_converter", ["field": "t", "target.type": "unix"],
        record(value: #"{"t":"2023"}"#)
      )
      .contains("no 'format'"))
    XCTAssertNil(
      try apply("timestamp_converter", ["target.type": "unix"], record(value: nil)).value.bytes)
  }

  func testDateFormatsAcrossTheEpochLeapDaysClocksAndZones() throws {
    func convert(_ value: String, _ options: KeyValuePairs<String, String>) throws -> String? {
      text(try apply("timestamp_converter", options, record(value: value)).value)
    }
    let full = "yyyy-MM-dd HH:mm:ss.SSS"
    XCTAssertEqual(
      try convert("-1", ["target.type": "string", "format": full]), #""1969-12-31 23:59:59.999""#)
    XCTAssertEqual(
      try convert(#""2024-02-29""#, ["target.type": "unix", "format": "yyyy-MM-dd"]),
      "1709164800000")
    XCTAssertEqual(
      try convert(#""2024-02-29""#, ["target.type": "Date", "format": "yyyy-MM-dd"]), "19782")
    XCTAssertEqual(
      try convert(
        #""Tue, 14 Nov 2023 23:13:20 +0100""#,
        [
          "target.type": "unix", "format": "EEE, dd MMM yyyy HH:mm:ss Z",
          "unix.precision": "seconds",
        ]),
      "1700000000")
    XCTAssertEqual(
      try convert(
        #""1970-01-01 12:30 AM""#, ["target.type": "unix", "format": "yyyy-MM-dd hh:mm a"]),
      "1800000")
    XCTAssertEqual(
      try convert(
        #""1970-01-01 12:30 PM""#, ["target.type": "unix", "format": "yyyy-MM-dd hh:mm a"]),
      "45000000")
    XCTAssertEqual(
      try convert("1800000", ["target.type": "string", "format": "EEEE d MMMM yy, h:mm a"]),
      #""Thursday 1 January 70, 12:30 AM""#)
    // Java ignores text after the pattern; a year past what fits is a record error, not a crash.
    XCTAssertEqual(
      try convert(#""2023-11-14T22:13:20Z""#, ["target.type": "unix", "format": "yyyy-MM-dd"]),
      "1699920000000")
    XCTAssertTrue(
      failure(
        "timestamp_converter", ["target.type": "unix", "format": "yyyyMMdd"],
        record(value: #""99999999999999999999""#)
      )
      .contains("does not match"))
    XCTAssertTrue(
      failure(
        "timestamp_converter", ["target.type": "unix", "format": "yyyy-MM-dd"],
        record(value: #""2023-13-01""#)
      )
      .contains("does not match"))
  }

  // MARK: - Headers

  func testHeaderFromMovesOrCopiesFieldsToHeaders() throws {
    let value = #"{"id":7,"name":"Ann","meta":{"trace":"t1"}}"#
    var out = try apply(
      "HeaderFrom$Value", ["fields": "id,name", "headers": "id,who", "operation": "move"],
      record(value: value))
    XCTAssertEqual(text(out.value), #"{"meta":{"trace":"t1"}}"#)
    XCTAssertEqual(header(out, "id"), "7")
    XCTAssertEqual(header(out, "who"), "Ann")
    out = try apply(
      "header_from",
      [
        "fields": "meta.trace,meta", "headers": "trace,meta", "operation": "copy",
        "field.syntax.version": "V2",
      ],
      record(value: value))
    XCTAssertEqual(text(out.value), value)
    XCTAssertEqual(header(out, "trace"), "t1")
    XCTAssertEqual(header(out, "meta"), #"{"trace":"t1"}"#)
    out = try apply(
      "HeaderFrom$Key", ["fields": "k", "headers": "key-k", "operation": "copy"],
      record(key: #"{"k":"v"}"#, value: "{}"))
    XCTAssertEqual(header(out, "key-k"), "v")
  }

  func testHeaderTransformsAndTimestampRouterNeverParseTheValue() throws {
    // Not JSON at all: a transform that parsed it would fail.
    let input = record(
      value: "plain text",
      headers: [RecordHeader("trace", "a"), RecordHeader("keep", "b"), RecordHeader("trace", "c")])
    let out = try run(
      item(
        "org.apache.kafka.connect.transforms.InsertHeader",
        ["header": "origin", "value.literal": "sluice"])
        + item("drop_headers", ["headers": "trace"])
        + item(
          "TimestampRouter",
          ["topic.format": "$${topic}_$${timestamp}", "timestamp.format": "yyyy-MM"]),
      input)
    guard case .bytes = out.value else { return XCTFail("the value was parsed") }
    XCTAssertEqual(out.headers.map(\.name), ["keep", "origin"])
    XCTAssertEqual(header(out, "origin"), "sluice")
    XCTAssertEqual(out.topic, "orders_2023-11")
    // Connector files interpolate ${…}: `$${` writes Kafka's `${`. Kafka's defaults:
    // ${topic}-${timestamp} and yyyyMMdd.
    XCTAssertEqual(try apply("timestamp_router", [:], input).topic, "orders-20231114")
  }

  // MARK: - Chains and config errors

  func testAChainOfTwelveFromAConnectorFile() throws {
    let d = try definition(
      """
        - { name: add, type: insert_field, static.field: source, static.value: web, topic.field: topic }
        - { name: trim, type: replace_field, exclude: internal, renames: "amount:total" }
        - { name: mask, type: mask_field, fields: user.email, field.syntax.version: V2 }
        - { name: cast, type: "Cast$Value", spec: "total:float64" }
        - { name: day, type: timestamp_converter, field: ts, target.type: string, format: yyyy-MM-dd }
        - { name: id-header, type: header_from, fields: id, headers: id, operation: copy }
        - { name: origin, type: insert_header, header: origin, value.literal: sluice }
        - { name: no-trace, type: drop_headers, headers: trace }
        - { name: key, type: value_to_key, fields: id }
        - { name: flat, type: flatten, delimiter: _ }
        - { name: plain-key, type: "ExtractField$Key", field: id }
        - { name: monthly, type: timestamp_router, timestamp.format: yyyy-MM }

      """)
    XCTAssertEqual(d.transforms.steps.count, 12)
    guard
      case .record(let result) = d.transforms.apply(
        record(
          value:
            #"{"id":7,"user":{"name":"Ann","email":"a@x"},"amount":"12.5","ts":1700000000000,"internal":true}"#,
          headers: [RecordHeader("trace", "x")]))
    else { return XCTFail("applies") }
    XCTAssertEqual(
      text(result.value),
      #"{"id":7,"user_name":"Ann","user_email":"","total":12.5,"ts":"2023-11-14","topic":"orders","source":"web"}"#
    )
    XCTAssertEqual(text(result.key), "7")
    XCTAssertEqual(result.headers.map(\.name), ["id", "origin"])
    XCTAssertEqual(result.topic, "orders-2023-11")
    // A failing step is named.
    guard
      case .failed(let step, let reason) = d.transforms.apply(
        record(value: #"{"id":1,"amount":"lots"}"#))
    else { return XCTFail("fails") }
    XCTAssertEqual(step, "cast")
    XCTAssertTrue(reason.contains("to float64"), reason)
  }

  func testTheReadmeExampleAndKafkaConnectsFlatForm() throws {
    // The README's example, as written there.
    let d = try ConnectorDefinition.parse(
      text: """
        name: signups
        source: file
        topic: signups
        config: { path: /var/spool/signups.jsonl }
        transforms:
          - { type: "InsertField$Value", static.field: origin, static.value: web, timestamp.field: received_at }
          - { type: ReplaceField$Value, exclude: "password,ip", renames: "name:full_name" }
          - { type: MaskField$Value, fields: user.email, field.syntax.version: V2 }
          - { type: Cast$Value, spec: "age:int32,score:float64" }
          - { type: TimestampConverter$Value, field: received_at, target.type: string, format: "yyyy-MM-dd'T'HH:mm:ssXXX" }
          - { type: ValueToKey, fields: id }
          - { type: ExtractField$Key, field: id }          # the key is the id itself, not {"id": …}
          - { type: TimestampRouter, topic.format: "${topic}-${timestamp}" }   # signups-20240131
        """, file: "c.yaml", environment: [:])
    guard
      case .record(let out) = d.transforms.apply(
        record(
          topic: "signups",
          value:
            #"{"id":"u1","name":"Ann","password":"x","user":{"email":"a@x"},"age":"41","score":3}"#,
          timestamp: 1_706_659_200_000))
    else { return XCTFail("applies") }
    XCTAssertEqual(
      text(out.value),
      #"{"id":"u1","full_name":"Ann","user":{"email":""},"age":41,"score":3.0,"received_at":"2024-01-31T00:00:00Z","origin":"web"}"#
    )
    XCTAssertEqual(text(out.key), #""u1""#)
    XCTAssertEqual(out.topic, "signups-20240131")

    // Kafka Connect's form: transforms.<alias>.type with $Key/$Value, options by their names.
    var registry = ConnectorRegistry()
    registry.registerSource("tester") { _ in throw TransformError("not built in this test") }
    let flat = try registry.definition(
      name: "c",
      config: ConnectConfig([
        "connector.class": "sluice.source.tester", "topic": "t",
        "transforms": "key,extract,mask,daily",
        "transforms.key.type": "org.apache.kafka.connect.transforms.ValueToKey",
        "transforms.key.fields": "id",
        "transforms.extract.type": "org.apache.kafka.connect.transforms.ExtractField$Key",
        "transforms.extract.field": "id",
        "transforms.mask.type": "org.apache.kafka.connect.transforms.MaskField$Value",
        "transforms.mask.fields": "secret",
        "transforms.mask.replacement": "***",
        // As Kafka Connect takes it: ${topic} without a provider is not interpolation.
        "transforms.daily.type": "org.apache.kafka.connect.transforms.TimestampRouter",
        "transforms.daily.topic.format": "${topic}.${timestamp}",
      ]), file: "c.json", interpolation: Interpolation(environment: [:], secretsDirectories: []))
    guard case .record(let keyed) = flat.transforms.apply(record(value: #"{"id":9,"secret":"s"}"#))
    else { return XCTFail("applies") }
    XCTAssertEqual(text(keyed.key), "9")
    XCTAssertEqual(text(keyed.value), #"{"id":9,"secret":"***"}"#)
    XCTAssertEqual(keyed.topic, "orders.20231114")
  }

  func testBadOptionsAreErrorsAtTheirLine() {
    let cases: [(String, String)] = [
      (item("insert_field", [:]), "inserts nothing"),
      (item("insert_field", ["static.field": "a"]), "no value for the static field 'a'"),
      (item("insert_field", ["topic.feld": "a"]), "did you mean 'topic.field'"),
      (item("replace_field", ["renames": "a:b,c"]), "invalid rename mapping 'c'"),
      (item("mask_field", [:]), "needs 'fields'"),
      (
        item("mask_field", ["fields": "a", "field.syntax.version": "V3"]), "expected one of V1, V2"
      ),
      (item("mask_field", ["fields": "`a", "field.syntax.version": "V2"]), "not a field path"),
      (item("value_to_key", [:]), "needs 'fields'"),
      (item("extract_field", [:]), "needs 'field'"),
      (item("hoist_field", [:]), "needs 'field'"),
      (item("cast", ["spec": "a:int33"]), "unknown type 'int33'"),
      (item("cast", ["spec": "a:int32,b"]), "invalid cast mapping 'b'"),
      (item("timestamp_converter", ["target.type": "date"]), "did you mean 'Date'"),
      (item("timestamp_converter", ["target.type": "string"]), "needs 'format'"),
      (item("timestamp_converter", ["target.type": "unix", "format": "yyyy-QQ"]), "letter 'Q'"),
      (
        item("timestamp_converter", ["target.type": "unix", "unix.precision": "ms"]),
        "expected one of seconds"
      ),
      (item("header_from", ["fields": "a,b", "headers": "a", "operation": "copy"]), "same number"),
      (
        item("header_from", ["fields": "a", "headers": "a", "operation": "cut"]),
        "expected one of move, copy"
      ),
      (item("header_from", ["fields": "a", "headers": "a"]), "needs 'operation'"),
      (item("insert_header", ["header": "h"]), "needs 'value.literal'"),
      (item("drop_headers", [:]), "needs 'headers'"),
      (item("timestamp_router", ["timestamp.format": "yyyy'"]), "unclosed quote"),
    ]
    for (transform, expected) in cases {
      XCTAssertThrowsError(try definition(transform), expected) { error in
        // At the option's line (the type's, 6, when the option is missing).
        let text = "\(error)"
        let line = text.split(separator: ":").dropFirst().first.flatMap { Int($0) } ?? 0
        XCTAssertTrue(text.hasPrefix("c.yaml:") && (6...9).contains(line), text)
        XCTAssertTrue(text.contains(expected), "\(expected): \(text)")
      }
    }
  }
}
