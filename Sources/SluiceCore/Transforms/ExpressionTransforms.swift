/// The transforms written in Sluice's expression language (README "Expressions"): what the
/// fixed transforms cannot say, without running scripts.
extension TransformCatalog {
  static let expressions: [TransformType] = [
    ExpressionFilter.sluiceType, ExpressionFilter.debeziumType,
    ExpressionRouter.sluiceType, ExpressionRouter.debeziumType,
  ]
}

/// Parses an option's expression; a mistake is a config error at the option, with its column.
private func expression(_ options: TransformOptions, _ key: String) throws(ConfigError)
  -> Expression
{
  let text = try options.required(key)
  do {
    return try Expression.parse(text)
  } catch {
    throw options.error(key, "invalid expression \(error)")
  }
}

/// Debezium's `language`: omitted, or a name of this language. Debezium's JSR-223 languages
/// (`jsr223.groovy`, `jsr223.graal.js`) run scripts, which Sluice does not.
private func checkLanguage(_ options: TransformOptions) throws(ConfigError) {
  guard let language = options.string("language") else { return }
  if ["sluice", "sluice-expression"].contains(language.lowercased()) { return }
  if language.lowercased().hasPrefix("jsr223.") {
    throw options.error(
      "language",
      "Sluice does not run scripts ('\(language)'); write the condition in Sluice's expression "
        + "language and set 'language: sluice' or leave it out (README: Expressions)")
  }
  throw options.error("language", "unknown language '\(language)'; Sluice's is 'sluice'")
}

/// Debezium's `null.handling.mode`: tombstones passed on unevaluated (`keep`), dropped, or
/// evaluated like any record.
private enum NullHandling: String, CaseIterable {
  case keep, drop, evaluate
}

/// Which records an expression transform evaluates: Debezium's `topic.regex` (others pass) and
/// `null.handling.mode`; Sluice's own names evaluate every record.
private struct ExpressionScope: Sendable {
  var topics: TopicRegex?
  var nulls: NullHandling = .evaluate

  init() {}

  init(debezium options: TransformOptions) throws(ConfigError) {
    let mode = try options.oneOf(
      "null.handling.mode", NullHandling.allCases.map(\.rawValue), default: "keep")
    nulls = NullHandling(rawValue: mode) ?? .keep
    if let pattern = options.string("topic.regex") {
      do {
        topics = try TopicRegex(pattern)
      } catch {
        throw options.error("topic.regex", "not a valid regular expression: \(error)")
      }
    }
  }

  /// Nil when the record is to be evaluated; else whether it is kept without evaluating it.
  func skip(_ record: TransformRecord) -> Bool? {
    if let topics, !topics.matches(record.topic) { return true }
    switch nulls {
    case .evaluate: return nil
    case .keep: return record.isTombstone ? true : nil
    case .drop: return record.isTombstone ? false : nil
    }
  }
}

/// `filter_if` (drops the records its `if` expression is true for) and Debezium's Filter
/// (`condition`: *keeps* the records it is true for, as Debezium does). A null result counts
/// as false; a result that is not a boolean or null is a record error.
struct ExpressionFilter: Transform {
  let condition: Expression
  /// True for `filter_if`: a true condition drops the record.
  let dropsWhenTrue: Bool
  private let scope: ExpressionScope

  static let sluiceType = TransformType(names: ["filter_if"]) { options throws(ConfigError) in
    try options.checkKnown(["if"])
    return ExpressionFilter(
      condition: try expression(options, "if"), dropsWhenTrue: true, scope: ExpressionScope())
  }

  static let debeziumType = TransformType(names: ["io.debezium.transforms.Filter"]) {
    options throws(ConfigError) in
    try options.checkKnown(["condition", "language", "null.handling.mode", "topic.regex"])
    try checkLanguage(options)
    return ExpressionFilter(
      condition: try expression(options, "condition"), dropsWhenTrue: false,
      scope: try ExpressionScope(debezium: options))
  }

  func apply(to record: inout TransformRecord) throws(TransformError) -> Bool {
    if let keep = scope.skip(record) { return keep }
    let result = try condition.evaluate(record)
    let holds: Bool
    switch result {
    case .bool(let b): holds = b
    case .null: holds = false
    default:
      throw TransformError("the condition gave \(result.typeName), not true or false")
    }
    return holds != dropsWhenTrue
  }
}

/// `route_expr` (`topic`) and Debezium's ContentBasedRouter (`topic.expression`): the record's
/// topic becomes the expression's string; null keeps the topic it has. Another type, or a name
/// that is not a valid topic name, is a record error.
struct ExpressionRouter: Transform {
  let topic: Expression
  private let scope: ExpressionScope

  static let sluiceType = TransformType(names: ["route_expr"]) { options throws(ConfigError) in
    try options.checkKnown(["topic"])
    return ExpressionRouter(topic: try expression(options, "topic"), scope: ExpressionScope())
  }

  static let debeziumType = TransformType(names: ["io.debezium.transforms.ContentBasedRouter"]) {
    options throws(ConfigError) in
    try options.checkKnown(["topic.expression", "language", "null.handling.mode", "topic.regex"])
    try checkLanguage(options)
    return ExpressionRouter(
      topic: try expression(options, "topic.expression"),
      scope: try ExpressionScope(debezium: options))
  }

  func apply(to record: inout TransformRecord) throws(TransformError) -> Bool {
    if let keep = scope.skip(record) { return keep }
    switch try topic.evaluate(record) {
    case .null:
      return true
    case .string(let name):
      if name != record.topic {
        if let problem = TopicName.problem(with: name) {
          throw TransformError("the topic '\(name)' it made is not a valid topic name: \(problem)")
        }
        record.topic = name
      }
      return true
    case let other:
      throw TransformError("the topic expression gave \(other.typeName), not a string")
    }
  }
}
