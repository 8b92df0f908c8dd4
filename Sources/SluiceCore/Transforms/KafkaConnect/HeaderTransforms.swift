/// Kafka Connect's InsertHeader (`insert_header`): adds the header `header` with the text
/// `value.literal` to every record. Touches neither key nor value.
struct InsertHeader: Transform {
  let header: RecordHeader

  static let type = TransformType(
    names: ["insert_header", TransformCatalog.kafkaName("InsertHeader")]
  ) { options throws(ConfigError) in
    try options.checkKnown(["header", "value.literal"])
    let name = try options.required("header")
    guard let literal = options.string("value.literal") else {
      throw options.error("value.literal", "transform '\(options.alias)' needs 'value.literal'")
    }
    return InsertHeader(header: RecordHeader(name, literal))
  }

  func apply(to record: inout TransformRecord) throws(TransformError) -> Bool {
    record.headers.append(header)
    return true
  }
}

/// Kafka Connect's DropHeaders (`drop_headers`): removes every header named in `headers`.
/// Touches neither key nor value.
struct DropHeaders: Transform {
  let names: Set<String>

  static let type = TransformType(
    names: ["drop_headers", TransformCatalog.kafkaName("DropHeaders")]
  ) { options throws(ConfigError) in
    try options.checkKnown(["headers"])
    let names = options.list("headers")
    guard !names.isEmpty else {
      throw options.error(
        "headers", "transform '\(options.alias)' needs 'headers' (a non-empty list)")
    }
    return DropHeaders(names: Set(names))
  }

  func apply(to record: inout TransformRecord) throws(TransformError) -> Bool {
    record.headers.removeAll { names.contains($0.name) }
    return true
  }
}
