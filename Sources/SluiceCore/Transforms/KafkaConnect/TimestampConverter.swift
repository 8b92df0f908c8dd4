/// Kafka Connect's TimestampConverter (`timestamp_converter`): converts the key or value, or its
/// field `field`, between timestamp forms. What comes in is read by its JSON type: an integer is
/// Unix time in `unix.precision` (default milliseconds), a string is parsed with `format` (a
/// `SimpleDateFormat` pattern, in UTC). `target.type` is `string` (formatted with `format`),
/// `unix` (an integer in `unix.precision`), or, written as Kafka's JSON converter writes those
/// logical types, `Timestamp` (milliseconds since the epoch), `Date` (days since the epoch)
/// and `Time` (milliseconds since midnight, UTC). Null stays null; a null key or value passes.
struct TimestampConverter: Transform {
  enum Target: String, Sendable { case string, unix, Date, Time, Timestamp }
  enum Precision: String, Sendable {
    case seconds, milliseconds, microseconds, nanoseconds

    /// How many of this unit make a millisecond (negative: how many milliseconds make one).
    var perMillisecond: Int64 {
      switch self {
      case .seconds: -1000
      case .milliseconds: 1
      case .microseconds: 1000
      case .nanoseconds: 1_000_000
      }
    }
  }

  let side: RecordSide
  let field: FieldPath?
  let target: Target
  let format: JavaDateFormat?
  let precision: Precision

  static let type = TransformType(
    names: ["timestamp_converter", TransformCatalog.kafkaName("TimestampConverter")]
  ) { options throws(ConfigError) in
    try options.checkKnown([
      "field", "target.type", "format", "unix.precision", "field.syntax.version",
      "replace.null.with.default",
    ])
    try options.checkReplaceNullWithDefault()
    let v2 = try options.fieldSyntaxV2()
    let targetText = try options.required("target.type")
    let target = try options.oneOf(
      "target.type", ["string", "unix", "Date", "Time", "Timestamp"], default: targetText)
    let precision = try options.oneOf(
      "unix.precision", ["seconds", "milliseconds", "microseconds", "nanoseconds"],
      default: "milliseconds")
    var format: JavaDateFormat?
    if let pattern = options.string("format"), !pattern.isEmpty {
      do throws(TransformError) {
        format = try JavaDateFormat(pattern)
      } catch {
        throw options.error("format", error.reason)
      }
    }
    if target == "string", format == nil {
      throw options.error(
        "format", "transform '\(options.alias)' needs 'format' to write string timestamps")
    }
    let fieldName = options.string("field", default: "")
    return TimestampConverter(
      side: options.side,
      field: fieldName.isEmpty ? nil : try options.fieldPath("field", fieldName, v2: v2),
      target: Target(rawValue: target)!, format: format, precision: Precision(rawValue: precision)!)
  }

  func apply(to record: inout TransformRecord) throws(TransformError) -> Bool {
    var tree = try record[side].json()
    if tree == .null { return true }
    guard let field else {
      record[side] = .json(try convert(tree, what: "the \(side.rawValue)"))
      return true
    }
    _ = try requireObject(tree, side, for: "TimestampConverter")
    guard let value = field.value(in: tree) else { return true }
    field.set(try convert(value, what: "the field '\(field)'"), in: &tree)
    record[side] = .json(tree)
    return true
  }

  private func convert(_ value: JSONValue, what: String) throws(TransformError) -> JSONValue {
    if value == .null { return .null }
    let millis = try self.millis(value, what: what)
    switch target {
    case .string: return .string(format!.format(millis))
    case .unix:
      let per = precision.perMillisecond
      if per < 0 { return .int(JavaDateFormat.floorDivide(millis, -per).0) }
      let (scaled, overflow) = millis.multipliedReportingOverflow(by: per)
      guard !overflow else { throw TransformError("\(what) is out of range for \(precision)") }
      return .int(scaled)
    case .Timestamp: return .int(millis)
    case .Date: return .int(JavaDateFormat.floorDivide(millis, 86_400_000).0)
    case .Time: return .int(JavaDateFormat.floorDivide(millis, 86_400_000).1)
    }
  }

  /// The time `value` stands for, in milliseconds since the epoch.
  private func millis(_ value: JSONValue, what: String) throws(TransformError) -> Int64 {
    switch value {
    case .int, .double:
      guard let n = value.integer else {
        throw TransformError("\(what) is \(value.jsonText): not a whole Unix time")
      }
      let per = precision.perMillisecond
      if per < 0 {
        let (scaled, overflow) = n.multipliedReportingOverflow(by: -per)
        guard !overflow else { throw TransformError("\(what) is out of range") }
        return scaled
      }
      // Kafka truncates finer units to milliseconds.
      return n / per
    case .string(let text):
      guard let format else {
        throw TransformError(
          "\(what) is a string timestamp and this TimestampConverter has no 'format' to read it")
      }
      guard let millis = format.parse(text) else {
        throw TransformError(
          "\(what), '\(text.prefix(64))', does not match the format '\(format.pattern)'")
      }
      return millis
    default:
      throw TransformError("\(what) is \(value.kindName), not a timestamp")
    }
  }
}
