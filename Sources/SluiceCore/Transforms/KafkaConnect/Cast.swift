/// Kafka Connect's Cast (`cast`): `spec` is either one type, for the whole key or value, or
/// `field:type,…`. Types: int8, int16, int32, int64, float32, float64, boolean, string.
/// Numbers narrow as Java's do (truncated toward zero, then wrapped to the width), strings are
/// parsed (a string that is not a number of that kind is a record error), booleans are 1 or 0,
/// a number is true unless 0, a string is true when it is `true` in any case; anything cast to
/// string is its text (objects and arrays their JSON). Null stays null, missing fields stay
/// missing, a null key or value passes unchanged.
struct Cast: Transform {
  enum Target: String, CaseIterable, Sendable {
    case int8, int16, int32, int64, float32, float64, boolean, string
  }

  let side: RecordSide
  /// The whole key or value's type, or each field's.
  let whole: Target?
  let fields: [(path: FieldPath, target: Target)]

  static let type = TransformType(
    names: ["cast", TransformCatalog.kafkaName("Cast")]
  ) { options throws(ConfigError) in
    try options.checkKnown(["spec", "field.syntax.version", "replace.null.with.default"])
    try options.checkReplaceNullWithDefault()
    let v2 = try options.fieldSyntaxV2()
    let items = options.list("spec")
    guard !items.isEmpty else {
      throw options.error(
        "spec", "transform '\(options.alias)' needs 'spec': a type, or field:type,…")
    }
    func target(_ text: Substring) throws(ConfigError) -> Target {
      guard let target = Target(rawValue: text.trimmingCharacters(in: .whitespaces)) else {
        var message =
          "unknown type '\(text)' in the cast spec (int8, int16, int32, int64, "
          + "float32, float64, boolean, string)"
        if let guess = DidYouMean.suggestion(
          for: String(text), among: Target.allCases.map(\.rawValue))
        {
          message += "; did you mean '\(guess)'?"
        }
        throw options.error("spec", message)
      }
      return target
    }
    if items.count == 1, !items[0].contains(":") {
      return Cast(side: options.side, whole: try target(items[0][...]), fields: [])
    }
    var fields: [(path: FieldPath, target: Target)] = []
    for item in items {
      guard let colon = item.lastIndex(of: ":"), colon != item.startIndex else {
        throw options.error("spec", "invalid cast mapping '\(item)': expected field:type")
      }
      let name = item[..<colon].trimmingCharacters(in: .whitespaces)
      fields.append(
        (try options.fieldPath("spec", name, v2: v2), try target(item[item.index(after: colon)...]))
      )
    }
    return Cast(side: options.side, whole: nil, fields: fields)
  }

  func apply(to record: inout TransformRecord) throws(TransformError) -> Bool {
    var tree = try record[side].json()
    if tree == .null { return true }
    if let whole {
      record[side] = .json(try Self.cast(tree, to: whole, what: "the \(side.rawValue)"))
      return true
    }
    _ = try requireObject(tree, side, for: "Cast")
    for (path, target) in fields {
      guard let value = path.value(in: tree) else { continue }
      path.set(try Self.cast(value, to: target, what: "the field '\(path)'"), in: &tree)
    }
    record[side] = .json(tree)
    return true
  }

  static func cast(_ value: JSONValue, to target: Target, what: String) throws(TransformError)
    -> JSONValue
  {
    if value == .null { return .null }
    func fail() -> TransformError {
      TransformError(
        "cannot cast \(what), \(value.kindName) \(value.jsonText.prefix(64)), to \(target.rawValue)"
      )
    }
    switch target {
    case .int8, .int16, .int32, .int64:
      let n: Int64
      switch value {
      case .int(let i): n = i
      case .double(let d):
        guard d.isFinite else { throw fail() }
        // Java's double-to-long: toward zero, saturating.
        n = d >= 0x1p63 ? .max : d <= -0x1p63 ? .min : Int64(d)
      case .bool(let b): n = b ? 1 : 0
      case .string(let text):
        let parsed: Int64? =
          switch target {
          case .int8: Int8(text).map(Int64.init)
          case .int16: Int16(text).map(Int64.init)
          case .int32: Int32(text).map(Int64.init)
          default: Int64(text)
          }
        guard let parsed else { throw fail() }
        return .int(parsed)
      default: throw fail()
      }
      switch target {
      case .int8: return .int(Int64(Int8(truncatingIfNeeded: n)))
      case .int16: return .int(Int64(Int16(truncatingIfNeeded: n)))
      case .int32: return .int(Int64(Int32(truncatingIfNeeded: n)))
      default: return .int(n)
      }
    case .float32, .float64:
      let d: Double
      switch value {
      case .int(let i): d = Double(i)
      case .double(let x): d = x
      case .bool(let b): d = b ? 1 : 0
      case .string(let text):
        guard let x = Double(text.trimmingCharacters(in: .whitespaces)) else { throw fail() }
        d = x
      default: throw fail()
      }
      if target == .float32 {
        // A float32 written as its shortest text (1.1, not 1.100000023841858), as Kafka's
        // JSON converter writes a float.
        let f = Float(d)
        return .double(f.isFinite ? Double("\(f)") ?? Double(f) : Double(f))
      }
      return .double(d)
    case .boolean:
      switch value {
      case .bool: return value
      case .int(let i): return .bool(i != 0)
      case .double(let x): return .bool(x != 0)
      case .string(let text): return .bool(text.lowercased() == "true")
      default: throw fail()
      }
    case .string:
      switch value {
      case .string: return value
      default: return .string(value.jsonText)
      }
    }
  }
}
