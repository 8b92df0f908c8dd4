/// Builds a connector's ``TransformChain`` from its file: `transforms:`, a list applied in order,
/// and `predicates:`, named conditions the transforms refer to — Kafka Connect's `transforms=` and
/// `predicates=` with the same names and options, written as YAML:
///
/// ```yaml
/// transforms:
///   - type: io.debezium.transforms.ExtractNewRecordState   # or its Sluice name, unwrap
///     delete.tombstone.handling.mode: rewrite
///   - name: drop-tombstones          # the alias; default: the type and its place
///     type: Filter
///     predicate: tombstones
/// predicates:
///   tombstones: { type: RecordIsTombstone }
/// ```
///
/// Every option is checked when the file is loaded, with the file and line of what is wrong.
public enum TransformChainConfig {
  static let stepKeys = ["name", "type", "predicate", "negate"]

  public static func build(transforms: ConfigNode?, predicates: ConfigNode?) throws(ConfigError)
    -> TransformChain
  {
    var named: [String: any RecordPredicate] = [:]
    if let predicates {
      guard case .mapping(let entries) = predicates.content else {
        throw predicates.error(
          "expected a mapping of predicate names to their settings, got \(predicates.kindDescription)")
      }
      for entry in entries {
        let (type, options) = try declaration(entry.value, alias: entry.key, extraKeys: [])
        guard let kind = TransformCatalog.predicate(named: type.value) else {
          throw type.error(unknown("predicate", type.value, TransformCatalog.predicateNames))
        }
        named[entry.key] = try kind.make(options)
      }
    }
    guard let transforms else { return TransformChain() }
    guard case .sequence(let items) = transforms.content else {
      throw transforms.error("expected a list of transforms, got \(transforms.kindDescription)")
    }
    var steps: [TransformChain.Step] = []
    var aliases: Set<String> = []
    for (index, item) in items.enumerated() {
      guard case .mapping(let entries) = item.content else {
        throw item.error("expected a transform (a mapping with 'type'), got \(item.kindDescription)")
      }
      let alias = try entries.first { $0.key == "name" }?.value.string() ?? "\(index + 1)"
      guard aliases.insert(alias).inserted else {
        throw item.error("two transforms are named '\(alias)'")
      }
      var (type, options) = try declaration(item, alias: alias, extraKeys: ["name", "predicate", "negate"])
      guard let (kind, side) = TransformCatalog.transform(named: type.value) else {
        throw type.error(unknown("transform", type.value, TransformCatalog.transformNames))
      }
      options.side = side
      var step = TransformChain.Step(name: alias, transform: try kind.make(options))
      if let p = entries.first(where: { $0.key == "predicate" })?.value {
        let predicateName = try p.string()
        guard let predicate = named[predicateName] else {
          throw p.error(unknown("predicate", predicateName, Array(named.keys)))
        }
        step.predicate = predicate
      }
      if let negate = entries.first(where: { $0.key == "negate" })?.value {
        guard step.predicate != nil else {
          throw negate.error("'negate' applies to a predicate; this transform has none")
        }
        step.negate = try negate.bool()
      }
      steps.append(step)
    }
    return TransformChain(steps)
  }

  /// The `type` of a transform or predicate declaration and the rest of its keys as options.
  private static func declaration(_ node: ConfigNode, alias: String, extraKeys: [String])
    throws(ConfigError) -> (type: ConnectConfig.Entry, options: TransformOptions)
  {
    guard case .mapping(let entries) = node.content else {
      throw node.error("expected a mapping with 'type', got \(node.kindDescription)")
    }
    guard let typeEntry = entries.first(where: { $0.key == "type" }) else {
      throw node.error("'\(alias)' needs a 'type'")
    }
    let type = ConnectConfig.Entry(
      key: node.path.isEmpty ? "type" : "\(node.path).type", value: try typeEntry.value.string(),
      file: node.file, line: typeEntry.line, column: typeEntry.column)
    var options = ConnectConfig()
    var located: [ConnectConfig.Entry] = []
    for entry in entries where entry.key != "type" && !extraKeys.contains(entry.key) {
      let text: String
      switch entry.value.content {
      case .scalar(let value): text = value
      case .null: continue
      case .sequence(let items):
        // Kafka's LIST type is comma-separated; a YAML list says the same.
        var parts: [String] = []
        for item in items { parts.append(try item.string()) }
        text = parts.joined(separator: ",")
      case .mapping:
        throw entry.value.error("expected a value, got a mapping")
      }
      located.append(
        ConnectConfig.Entry(
          key: entry.key, value: text, file: node.file, line: entry.line, column: entry.column))
    }
    options = ConnectConfig(entries: located)
    return (
      type, TransformOptions(alias: alias, entries: options, declared: type, path: node.path)
    )
  }

  private static func unknown(_ what: String, _ name: String, _ known: [String]) -> String {
    var message = "unknown \(what) '\(name)'"
    if let guess = DidYouMean.suggestion(for: name, among: known) {
      message += "; did you mean '\(guess)'?"
    }
    return message
  }
}
