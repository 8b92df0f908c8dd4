/// Kafka Connect's ReplaceField (`replace_field`): keeps only the top-level fields in `include`
/// (all when empty), drops those in `exclude` (which wins), and renames by `renames`
/// (`old:new,…`); `whitelist`/`blacklist` are the deprecated names of `include`/`exclude`.
/// Fields keep their order. A null key or value passes unchanged.
struct ReplaceField: Transform {
  let side: RecordSide
  let include: Set<String>
  let exclude: Set<String>
  let renames: [String: String]

  static let type = TransformType(
    names: ["replace_field", TransformCatalog.kafkaName("ReplaceField")]
  ) { options throws(ConfigError) in
    try options.checkKnown([
      "include", "exclude", "renames", "whitelist", "blacklist", "replace.null.with.default",
    ])
    try options.checkReplaceNullWithDefault()
    // As Kafka translates deprecated names: the current one wins when both are written.
    let include =
      options.string("include") != nil ? options.list("include") : options.list("whitelist")
    let exclude =
      options.string("exclude") != nil ? options.list("exclude") : options.list("blacklist")
    var renames: [String: String] = [:]
    for mapping in options.list("renames") {
      let parts = mapping.split(separator: ":", omittingEmptySubsequences: false)
      guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
        throw options.error("renames", "invalid rename mapping '\(mapping)': expected old:new")
      }
      renames[String(parts[0])] = String(parts[1])
    }
    return ReplaceField(
      side: options.side, include: Set(include), exclude: Set(exclude), renames: renames)
  }

  func apply(to record: inout TransformRecord) throws(TransformError) -> Bool {
    let tree = try record[side].json()
    if tree == .null { return true }
    let object = try requireObject(tree, side, for: "ReplaceField")
    var updated = JSONObject()
    for member in object.members
    where !exclude.contains(member.key) && (include.isEmpty || include.contains(member.key)) {
      updated[renames[member.key] ?? member.key] = member.value
    }
    record[side] = .json(.object(updated))
    return true
  }
}
