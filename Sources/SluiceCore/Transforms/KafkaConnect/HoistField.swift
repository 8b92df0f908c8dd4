/// Kafka Connect's HoistField (`hoist_field`): wraps the whole key or value, whatever it is, in
/// an object with one field, `field` (`42` → `{"id":42}`). As in Kafka, null is wrapped too.
struct HoistField: Transform {
  let side: RecordSide
  let field: String

  static let type = TransformType(
    names: ["hoist_field", TransformCatalog.kafkaName("HoistField")]
  ) { options throws(ConfigError) in
    try options.checkKnown(["field"])
    return HoistField(side: options.side, field: try options.required("field"))
  }

  func apply(to record: inout TransformRecord) throws(TransformError) -> Bool {
    let tree = try record[side].json()
    record[side] = .json(.object([field: tree]))
    return true
  }
}
