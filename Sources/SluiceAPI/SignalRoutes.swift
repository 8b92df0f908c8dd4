import Foundation
import Hummingbird
import SluiceCore

extension AdminAPI {
  /// Debezium's signalling over HTTP: `POST /connectors/{c}/signals` with a signal document
  /// (`{"id": "…", "type": "execute-snapshot", "data": {…}}`). 202 once the connector has made
  /// it durable where its task reads it; 400 with the reason for a malformed signal, 404 for
  /// an unknown connector, 409 when it is not a running source that takes signals.
  func addSignalRoutes(to router: Router<BasicRequestContext>) {
    router.post("/connectors/:name/signals") { request, context -> Response in
      let signal = try Self.signal(in: try await body(of: request))
      var message = ""
      try await control(context) { message = try await $0.signal(signal, to: $1) }
      return try jsonResponse(
        encoding: SignalReceipt(id: signal.id, type: signal.type, message: message),
        status: .accepted)
    }
  }

  /// The body as a signal, or 400 saying what is wrong with it.
  static func signal(in body: ByteBuffer) throws -> ConnectorSignal {
    let expected =
      "expected a signal like {\"id\": \"s-1\", \"type\": \"execute-snapshot\", \"data\": {\"data-collections\": [\"public.orders\"], \"type\": \"incremental\"}}"
    guard case .object(let object)? = JSONValue.parse(Array(body.readableBytesView)) else {
      throw APIError(.badRequest, "the body is not a JSON object; \(expected)")
    }
    let fields = object.dictionary
    if let unknown = object.keys.first(where: { !["id", "type", "data"].contains($0) }) {
      throw APIError(.badRequest, "unknown field \"\(unknown)\" in the signal; \(expected)")
    }
    guard let id = fields["id"]?.string, !id.isEmpty else {
      throw APIError(.badRequest, "\"id\" must be a non-empty string; \(expected)")
    }
    guard let type = fields["type"]?.string, !type.isEmpty else {
      throw APIError(.badRequest, "\"type\" must be a non-empty string; \(expected)")
    }
    let data = fields["data"] ?? .null
    switch data {
    case .object, .null: break
    default: throw APIError(.badRequest, "\"data\" must be an object; \(expected)")
    }
    return ConnectorSignal(id: id, type: type, data: data)
  }
}

/// The answer to an accepted signal.
struct SignalReceipt: Codable {
  var id: String
  var type: String
  var message: String
}
