/// Kafka Connect's Flatten (`flatten`): nested objects become top-level fields whose names join
/// the path with `delimiter` (default `.`): `{"a":{"b":1}}` → `{"a.b":1}`. Arrays and other
/// values are kept as they are; a null key or value passes unchanged.
struct Flatten: Transform {
  let side: RecordSide
  let delimiter: String

  static let type = TransformType(
    names: ["flatten", TransformCatalog.kafkaName("Flatten")]
  ) { options throws(ConfigError) in
    try options.checkKnown(["delimiter"])
    return Flatten(side: options.side, delimiter: options.string("delimiter", default: "."))
  }

  func apply(to record: inout TransformRecord) throws(TransformError) -> Bool {
    let tree = try record[side].json()
    if tree == .null { return true }
    let object = try requireObject(tree, side, for: "Flatten")
    var flat = JSONObject()
    flatten(object, prefix: "", into: &flat)
    record[side] = .json(.object(flat))
    return true
  }

  private func flatten(_ object: JSONObject, prefix: String, into flat: inout JSONObject) {
    for member in object.members {
      let name = prefix.isEmpty ? member.key : prefix + delimiter + member.key
      if case .object(let nested) = member.value {
        flatten(nested, prefix: name, into: &flat)
      } else {
        flat[name] = member.value
      }
    }
  }
}
