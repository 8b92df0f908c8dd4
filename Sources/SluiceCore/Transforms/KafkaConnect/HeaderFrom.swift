/// Kafka Connect's HeaderFrom (`header_from`): copies or moves (`operation`) the key's or
/// value's `fields` into headers named by `headers` (the two lists pair up). A string becomes
/// the header's text, anything else its JSON, null (or a missing field) a header without a
/// value. Headers are added, never replaced. A null key or value passes unchanged.
struct HeaderFrom: Transform {
  let side: RecordSide
  let fields: [FieldPath]
  let headers: [String]
  let move: Bool

  static let type = TransformType(
    names: ["header_from", TransformCatalog.kafkaName("HeaderFrom")]
  ) { options throws(ConfigError) in
    try options.checkKnown([
      "fields", "headers", "operation", "field.syntax.version", "replace.null.with.default",
    ])
    try options.checkReplaceNullWithDefault()
    let v2 = try options.fieldSyntaxV2()
    let names = options.list("fields")
    let headers = options.list("headers")
    guard !names.isEmpty else {
      throw options.error(
        "fields", "transform '\(options.alias)' needs 'fields' (a non-empty list)")
    }
    guard headers.count == names.count else {
      throw options.error(
        "headers",
        "'fields' and 'headers' must have the same number of items (\(names.count) and \(headers.count))"
      )
    }
    guard options.string("operation") != nil else {
      throw options.error(
        "operation", "transform '\(options.alias)' needs 'operation' (move or copy)")
    }
    let operation = try options.oneOf("operation", ["move", "copy"], default: "copy")
    var fields: [FieldPath] = []
    for name in names { fields.append(try options.fieldPath("fields", name, v2: v2)) }
    return HeaderFrom(
      side: options.side, fields: fields, headers: headers, move: operation == "move")
  }

  func apply(to record: inout TransformRecord) throws(TransformError) -> Bool {
    var tree = try record[side].json()
    if tree == .null { return true }
    _ = try requireObject(tree, side, for: "HeaderFrom")
    for (field, header) in zip(fields, headers) {
      let value = field.value(in: tree) ?? .null
      record.headers.append(RecordHeader(name: header, value: value.headerBytes))
    }
    if move {
      for field in fields { field.remove(from: &tree) }
      record[side] = .json(tree)
    }
    return true
  }
}
