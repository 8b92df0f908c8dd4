// MARK: - Signals to a running source (Debezium's signalling, issue 16)

/// A signal for a running source connector, in Debezium's shape: `{"id": "…", "type":
/// "execute-snapshot", "data": {…}}`. What a type means is the connector's to say (the CDC
/// source's incremental snapshots: `execute-snapshot`, `stop-snapshot`, `pause-snapshot`,
/// `resume-snapshot`); the runtime only hands it over (``SourceConnector/signal(_:)``).
public struct ConnectorSignal: Sendable, Equatable {
  /// The caller's identifier of the signal, kept in logs and in the events it causes.
  public var id: String
  public var type: String
  /// The type's parameters: an object, or null when the type takes none.
  public var data: JSONValue

  public init(id: String, type: String, data: JSONValue = .null) {
    self.id = id
    self.type = type
    self.data = data
  }

  /// The signal as Debezium's JSON document.
  public var jsonText: String {
    JSONValue.object(
      JSONObject(members: [("id", .string(id)), ("type", .string(type)), ("data", data)])
    ).jsonText
  }
}

/// Why a connector did not take a signal; the admin API answers with the matching status.
public struct ConnectorSignalError: Error, CustomStringConvertible, Sendable {
  public enum Kind: Sendable {
    /// The signal is malformed or names something the type does not take: 400.
    case invalid
    /// This connector takes no signals of the type, or cannot now: 409.
    case refused
  }

  public var kind: Kind
  public var message: String

  public init(_ kind: Kind, _ message: String) {
    self.kind = kind
    self.message = message
  }

  public var description: String { message }
}

extension SourceConnector {
  /// Sources take no signals unless they say otherwise.
  public func signal(_ signal: ConnectorSignal) async throws -> String {
    throw ConnectorSignalError(.refused, "this connector type takes no signals")
  }
}
