/// A connector class as Kafka Connect's `/connector-plugins` lists it: either one of Sluice's own
/// connector types (`sluice.source.postgres-cdc`), which builds a connector, or a foreign class
/// (`io.debezium.connector.postgresql.PostgresConnector`) whose configs Sluice translates into one
/// of its own types.
///
/// Plugins are registered with ``ConnectorRegistry/register(_:)``, the one way a connector type
/// or a translator becomes known.
public struct ConnectorPlugin: Sendable {
  /// Kafka's connector types.
  public enum Kind: String, Sendable, Codable {
    case source
    case sink
  }

  public typealias MakeSource = @Sendable (ConnectorDefinition) throws -> any SourceConnector
  public typealias MakeSink = @Sendable (ConnectorDefinition) throws -> any SinkConnector
  /// Turns a flat config into a definition of a Sluice type; the keys have been checked
  /// against the plugin's definitions before it is called.
  public typealias Translate =
    @Sendable (ConnectTranslation) throws(ConfigError) -> ConnectorDefinition

  /// How the plugin's connectors are made.
  enum Factory: Sendable {
    case source(MakeSource)
    case sink(MakeSink)
    /// A foreign class: translated, then built by the Sluice type it translates to.
    case translated
  }

  public var className: String
  /// Simple names that select the plugin too (`PostgresConnector`, `postgres-cdc`).
  public var aliases: [String]
  public var type: Kind
  public var version: String
  /// The Sluice type its connectors run as (`postgres-cdc`).
  public var sluiceType: String
  /// Every key the plugin takes, the common ones (``ConnectCommonKeys``) included.
  public var definitions: [ConfigKeyDefinition]
  /// The connector's own keys only (a native type's `config:` keys, or the foreign class's).
  public var connectorDefinitions: [ConfigKeyDefinition]
  /// The converter classes whose output is what this connector reads or writes (see
  /// ``ConnectCommonKeys``); `key.converter`/`value.converter` naming any other is an error.
  public var converters: Set<String>
  /// Whether the connector reads the JSON converter's `{"schema","payload"}` wrapper, so
  /// `*.converter.schemas.enable=true` is no error.
  public var readsSchemaEnvelopes: Bool
  let factory: Factory
  let translate: Translate

  /// The class name Sluice gives its own type: `sluice.source.file`, `sluice.sink.postgres`.
  public static func nativeClassName(kind: Kind, type: String) -> String {
    "sluice.\(kind.rawValue).\(type)"
  }

  /// Sluice's own source type `type`, whose `config:` keys are `definitions`.
  public static func source(
    _ type: String, definitions: [ConfigKeyDefinition], converters: Set<String> = [],
    _ make: @escaping MakeSource
  ) -> ConnectorPlugin {
    native(.source, type, definitions, converters, readsSchemaEnvelopes: false, .source(make))
  }

  /// Sluice's own sink type `type`, whose `config:` keys are `definitions`.
  public static func sink(
    _ type: String, definitions: [ConfigKeyDefinition], converters: Set<String> = [],
    readsSchemaEnvelopes: Bool = false, _ make: @escaping MakeSink
  ) -> ConnectorPlugin {
    native(
      .sink, type, definitions, converters, readsSchemaEnvelopes: readsSchemaEnvelopes, .sink(make))
  }

  private static func native(
    _ kind: Kind, _ type: String, _ definitions: [ConfigKeyDefinition],
    _ converters: Set<String>, readsSchemaEnvelopes: Bool, _ factory: Factory
  ) -> ConnectorPlugin {
    ConnectorPlugin(
      className: nativeClassName(kind: kind, type: type), aliases: [type], type: kind,
      sluiceType: type, connectorDefinitions: definitions,
      converters: converters.isEmpty ? ConnectCommonKeys.jsonConverters : converters,
      readsSchemaEnvelopes: readsSchemaEnvelopes, factory: factory,
      translate: { translation throws(ConfigError) in
        try NativeConnectForm.translate(translation)
      })
  }

  /// A foreign class whose configs `translate` turns into a definition of Sluice's `sluiceType`.
  public static func translator(
    className: String, aliases: [String], kind: Kind, sluiceType: String,
    definitions: [ConfigKeyDefinition], converters: Set<String>,
    readsSchemaEnvelopes: Bool = false, translate: @escaping Translate
  ) -> ConnectorPlugin {
    ConnectorPlugin(
      className: className, aliases: aliases, type: kind, sluiceType: sluiceType,
      connectorDefinitions: definitions, converters: converters,
      readsSchemaEnvelopes: readsSchemaEnvelopes, factory: .translated, translate: translate)
  }

  init(
    className: String, aliases: [String], type: Kind, sluiceType: String,
    connectorDefinitions: [ConfigKeyDefinition], converters: Set<String>,
    readsSchemaEnvelopes: Bool, factory: Factory, translate: @escaping Translate
  ) {
    self.className = className
    self.aliases = aliases
    self.type = type
    self.version = SluiceVersion.current
    self.sluiceType = sluiceType
    self.connectorDefinitions = Self.numbered(connectorDefinitions)
    self.definitions = Self.numbered(
      ConnectCommonKeys.definitions(for: type) + connectorDefinitions)
    self.converters = converters
    self.readsSchemaEnvelopes = readsSchemaEnvelopes
    self.factory = factory
    self.translate = translate
  }

  /// Fills in `orderInGroup` (1, 2, … within each group) where it was left 0.
  private static func numbered(_ definitions: [ConfigKeyDefinition]) -> [ConfigKeyDefinition] {
    var counts: [String: Int] = [:]
    return definitions.map { definition in
      var d = definition
      counts[d.group, default: 0] += 1
      if d.orderInGroup == 0 { d.orderInGroup = counts[d.group]! }
      return d
    }
  }

  /// Whether `name` selects this plugin: its class name or an alias, as Kafka matches them
  /// (the class's simple name, with or without a `Connector` suffix, counts too).
  public func matches(_ name: String) -> Bool {
    if name == className || aliases.contains(name) { return true }
    let simple = className.split(separator: ".").last.map(String.init) ?? className
    return name == simple
      || (simple.hasSuffix("Connector") && name == String(simple.dropLast("Connector".count)))
  }

  /// The groups of its definitions, in order of first appearance (`ConfigInfos.groups`).
  public var groups: [String] {
    var out: [String] = []
    for d in definitions where !out.contains(d.group) { out.append(d.group) }
    return out
  }
}

/// Kafka's `PluginInfo`, one entry of `GET /connector-plugins`: `{"class","type","version"}`.
public struct PluginInfo: Sendable, Codable, Equatable {
  public var className: String
  public var type: String
  public var version: String

  enum CodingKeys: String, CodingKey {
    case className = "class"
    case type, version
  }
}

extension ConnectorPlugin {
  /// This plugin as `GET /connector-plugins` lists it.
  public var info: PluginInfo {
    PluginInfo(className: className, type: type.rawValue, version: version)
  }

  /// Its keys as `GET /connector-plugins/{plugin}/config` lists them.
  public var configKeyInfos: [ConfigKeyInfo] { definitions.map(\.info) }
}
