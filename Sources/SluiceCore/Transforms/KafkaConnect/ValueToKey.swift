/// Kafka Connect's ValueToKey (`value_to_key`): the key becomes an object of the value's
/// `fields` (a missing field is null). With `field.syntax.version: V2` a dotted path makes the
/// same nesting in the key. The value must be an object.
struct ValueToKey: Transform {
  let fields: [FieldPath]

  static let type = TransformType(
    names: ["value_to_key", TransformCatalog.kafkaName("ValueToKey")]
  ) { options throws(ConfigError) in
    try options.checkKnown(["fields", "field.syntax.version", "replace.null.with.default"])
    try options.checkReplaceNullWithDefault()
    let v2 = try options.fieldSyntaxV2()
    let names = options.list("fields")
    guard !names.isEmpty else {
      throw options.error(
        "fields", "transform '\(options.alias)' needs 'fields' (a non-empty list)")
    }
    var fields: [FieldPath] = []
    for name in names { fields.append(try options.fieldPath("fields", name, v2: v2)) }
    return ValueToKey(fields: fields)
  }

  func apply(to record: inout TransformRecord) throws(TransformError) -> Bool {
    let value = try record.value.json()
    _ = try requireObject(value, .value, for: "ValueToKey")
    var key = JSONValue.object(JSONObject())
    for field in fields { field.set(field.value(in: value) ?? .null, in: &key) }
    record.key = .json(key)
    return true
  }
}
