import Foundation
import Hummingbird
import SluiceCore

extension AdminAPI {
  /// Kafka Connect's offsets resource (KIP-875): `GET /connectors/{c}/offsets` in any state,
  /// `PATCH` (body `{"offsets":[{"partition":{…},"offset":{…}|null}]}`) and `DELETE` of a
  /// STOPPED connector, each answered with Kafka's message. What the offsets are is each
  /// connector type's to say (``SourceConnector/offsets(committed:)``,
  /// ``SinkConnector/storedOffsets(of:)``).
  func addOffsetRoutes(to router: Router<BasicRequestContext>) {
    router.get("/connectors/:name/offsets") { _, context -> Response in
      var offsets = ConnectorOffsets(offsets: [])
      try await control(context) { offsets = try await $0.offsets(of: $1) }
      return try jsonResponse(encoding: offsets)
    }
    router.patch("/connectors/:name/offsets") { request, context -> Response in
      let body = try await offsetsBody(request)
      var message = ""
      try await control(context) { message = try await $0.alterOffsets(of: $1, body) }
      return try jsonResponse(encoding: ["message": message])
    }
    router.delete("/connectors/:name/offsets") { _, context -> Response in
      var message = ""
      try await control(context) { message = try await $0.resetOffsets(of: $1) }
      return try jsonResponse(encoding: ["message": message])
    }
  }

  /// A PATCH body, or 400 saying what is wrong with it.
  private func offsetsBody(_ request: Request) async throws -> ConnectorOffsets {
    let body = try await self.body(of: request)
    do {
      return try JSONDecoder().decode(ConnectorOffsets.self, from: Data(body.readableBytesView))
    } catch let DecodingError.keyNotFound(key, context) {
      let detail =
        context.debugDescription.hasPrefix("No value")
        ? "\"\(key.stringValue)\" is missing" : context.debugDescription
      throw APIError(
        .badRequest, "invalid offsets body: \(detail)\(Self.place(context.codingPath))")
    } catch let DecodingError.typeMismatch(_, context) {
      throw APIError(
        .badRequest,
        "invalid offsets body: wrong type\(Self.place(context.codingPath)); expected {\"offsets\":[{\"partition\":{…},\"offset\":{…}}]}"
      )
    } catch {
      throw APIError(
        .badRequest,
        "invalid offsets body, expected {\"offsets\":[{\"partition\":{…},\"offset\":{…}}]}: \(error)"
      )
    }
  }

  private static func place(_ path: [any CodingKey]) -> String {
    guard !path.isEmpty else { return "" }
    return " at "
      + path.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
  }
}
