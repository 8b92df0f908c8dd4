/// Kafka Connect's MaskField (`mask_field`): replaces each field in `fields` with its type's
/// empty value (0, false, "", [], {}), or with `replacement` for numbers and strings (a
/// replacement that is not a number of a number field's kind is a record error; booleans,
/// arrays and objects take no replacement). Null fields stay null, missing fields stay missing,
/// and a null key or value passes unchanged.
struct MaskField: Transform {
  let side: RecordSide
  let fields: [FieldPath]
  let replacement: String?

  static let type = TransformType(
    names: ["mask_field", TransformCatalog.kafkaName("MaskField")]
  ) { options throws(ConfigError) in
    try options.checkKnown([
      "fields", "replacement", "field.syntax.version", "replace.null.with.default",
    ])
    try options.checkReplaceNullWithDefault()
    let v2 = try options.fieldSyntaxV2()
    let names = options.list("fields")
    guard !names.isEmpty else {
      throw options.error(
        "fields", "transform '\(options.alias)' needs 'fields' (a non-empty list)")
    }
    var fields: [FieldPath] = []
    for name in names { fields.append(try options.fieldPath("fields", name, v2: v2)) }
    let replacement = options.string("replacement")
    if replacement?.isEmpty == true {
      throw options.error("replacement", "expected a non-empty replacement")
    }
    return MaskField(side: options.side, fields: fields, replacement: replacement)
  }

  func apply(to record: inout TransformRecord) throws(TransformError) -> Bool {
    var tree = try record[side].json()
    if tree == .null { return true }
    _ = try requireObject(tree, side, for: "MaskField")
    for field in fields {
      guard let value = field.value(in: tree) else { continue }
      field.set(try masked(value, field), in: &tree)
    }
    record[side] = .json(tree)
    return true
  }

  private func masked(_ value: JSONValue, _ field: FieldPath) throws(TransformError) -> JSONValue {
    guard let replacement else {
      switch value {
      case .null: return .null
      case .bool: return .bool(false)
      case .int: return .int(0)
      case .double: return .double(0)
      case .string: return .string("")
      case .array: return .array([])
      case .object: return .object(JSONObject())
      }
    }
    switch value {
    case .null: return .null
    case .string: return .string(replacement)
    case .int:
      guard let n = Int64(replacement) else {
        throw TransformError("cannot mask the integer field '\(field)' with '\(replacement)'")
      }
      return .int(n)
    case .double:
      guard let n = Double(replacement) else {
        throw TransformError("cannot mask the number field '\(field)' with '\(replacement)'")
      }
      return .double(n)
    default:
      throw TransformError(
        "cannot mask the field '\(field)', \(value.kindName), with a replacement")
    }
  }
}
