/// Kafka Connect's ExtractField (`extract_field`): the key or value becomes its field `field`
/// (null when missing). A null key or value passes unchanged.
struct ExtractField: Transform {
  let side: RecordSide
  let field: FieldPath

  static let type = TransformType(
    names: ["extract_field", TransformCatalog.kafkaName("ExtractField")]
  ) { options throws(ConfigError) in
    try options.checkKnown(["field", "field.syntax.version", "replace.null.with.default"])
    try options.checkReplaceNullWithDefault()
    let v2 = try options.fieldSyntaxV2()
    let name = try options.required("field")
    return ExtractField(side: options.side, field: try options.fieldPath("field", name, v2: v2))
  }

  func apply(to record: inout TransformRecord) throws(TransformError) -> Bool {
    let tree = try record[side].json()
    if tree == .null { return true }
    _ = try requireObject(tree, side, for: "ExtractField")
    record[side] = .json(field.value(in: tree) ?? .null)
    return true
  }
}
