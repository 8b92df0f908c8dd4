/// A kind of transform the chain can be built from: the names it goes by (Sluice's, and Kafka
/// Connect's or Debezium's class names, so their configs apply), and how to build one from its
/// options. `$Key`/`$Value` after a name picks the side (``TransformOptions/side``).
public struct TransformType: Sendable {
  public var names: [String]
  public var make: @Sendable (TransformOptions) throws(ConfigError) -> any Transform

  public init(
    names: [String], make: @escaping @Sendable (TransformOptions) throws(ConfigError) -> any Transform
  ) {
    self.names = names
    self.make = make
  }
}

/// A kind of predicate, named and built like a ``TransformType``.
public struct PredicateType: Sendable {
  public var names: [String]
  public var make: @Sendable (TransformOptions) throws(ConfigError) -> any RecordPredicate

  public init(
    names: [String],
    make: @escaping @Sendable (TransformOptions) throws(ConfigError) -> any RecordPredicate
  ) {
    self.names = names
    self.make = make
  }
}

/// Every transform and predicate Sluice has, looked up by any of their names.
public enum TransformCatalog {
  public static let transforms: [TransformType] = [
    RegexRouter.type, FilterTransform.type,
  ] + kafkaConnect + debezium + expressions

  public static let predicates: [PredicateType] = [
    TopicNameMatches.type, HasHeaderKey.type, RecordIsTombstone.type,
  ]

  /// The transform type `name` names, with the side its `$Key`/`$Value` suffix picks.
  public static func transform(named name: String) -> (TransformType, RecordSide)? {
    let (base, side) = split(name)
    guard let type = transforms.first(where: { matches($0.names, base) }) else { return nil }
    return (type, side)
  }

  public static func predicate(named name: String) -> PredicateType? {
    predicates.first { matches($0.names, name) }
  }

  /// Every name, for did-you-mean suggestions.
  public static var transformNames: [String] { transforms.flatMap(\.names).flatMap(withSimple) }
  public static var predicateNames: [String] { predicates.flatMap(\.names).flatMap(withSimple) }

  /// A name and, for a class name, its simple name (the closer guess for a misspelt one).
  private static func withSimple(_ name: String) -> [String] {
    guard let simple = name.split(separator: ".").last.map(String.init), simple != name else {
      return [name]
    }
    return [simple, name]
  }

  private static func split(_ name: String) -> (String, RecordSide) {
    if name.hasSuffix("$Key") { return (String(name.dropLast(4)), .key) }
    if name.hasSuffix("$Value") { return (String(name.dropLast(6)), .value) }
    return (name, .value)
  }

  /// A full class name, its simple name (after the last dot), or a Sluice name.
  private static func matches(_ names: [String], _ name: String) -> Bool {
    names.contains { $0 == name || $0.split(separator: ".").last.map(String.init) == name }
  }
}
