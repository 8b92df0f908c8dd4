/// A connector built from its definition, ready to make tasks.
public enum ConfiguredConnector: Sendable {
  case source(any SourceConnector)
  case sink(any SinkConnector)
}

/// The table of connector types the executable knows (`file`, `postgres-cdc`, …).
///
/// `SluiceCore` knows no connector by name; the executable registers each one here, and the
/// worker and `sluice validate` build connectors through it. Building validates the connector's
/// own `config:` section, so an invalid file never starts.
public struct ConnectorRegistry: Sendable {
  public typealias MakeSource = @Sendable (ConnectorDefinition) throws -> any SourceConnector
  public typealias MakeSink = @Sendable (ConnectorDefinition) throws -> any SinkConnector

  private var sources: [String: MakeSource] = [:]
  private var sinks: [String: MakeSink] = [:]

  public init() {}

  public mutating func registerSource(_ type: String, _ make: @escaping MakeSource) {
    sources[type] = make
  }

  public mutating func registerSink(_ type: String, _ make: @escaping MakeSink) {
    sinks[type] = make
  }

  public var sourceTypes: [String] { sources.keys.sorted() }
  public var sinkTypes: [String] { sinks.keys.sorted() }

  /// Validates the definition's connector-specific config and builds the connector.
  public func instantiate(_ definition: ConnectorDefinition) throws -> ConfiguredConnector {
    switch definition.role {
    case .source(let type):
      guard let make = sources[type] else {
        throw definition.typeNode.error(Self.unknownType(type, known: sourceTypes, role: "source"))
      }
      return .source(try make(definition))
    case .sink(let type):
      guard let make = sinks[type] else {
        throw definition.typeNode.error(Self.unknownType(type, known: sinkTypes, role: "sink"))
      }
      return .sink(try make(definition))
    }
  }

  private static func unknownType(_ type: String, known: [String], role: String) -> String {
    var message = "unknown \(role) type '\(type)'"
    if let guess = DidYouMean.suggestion(for: type, among: known) {
      message += "; did you mean '\(guess)'?"
    }
    return message + " (known \(role) types: \(known.joined(separator: ", ")))"
  }
}
