import Foundation
import Hummingbird
import SluiceCore

/// The body of `POST /topics/{topic}/records`, in the Kafka REST proxy's shape:
/// `{"records":[{"key":…,"value":…,"partition":0,"headers":{"name":"value"}}]}`.
/// `key`/`value` strings are taken as text, other JSON as its compact text; `key_b64`/`value_b64`
/// carry raw bytes.
enum ProduceRequest {
  static func parse(_ data: Data, topic: String) throws -> [SourceRecord] {
    let json: Any
    do {
      json = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
    } catch {
      throw APIError(.badRequest, "body is not valid JSON: \(Self.reason(error))")
    }
    let items: [Any]
    if let object = json as? [String: Any] {
      guard let list = object["records"] as? [Any] else {
        throw APIError(.badRequest, "expected {\"records\": [...]} or an array of records")
      }
      items = list
    } else if let list = json as? [Any] {
      items = list
    } else {
      throw APIError(.badRequest, "expected {\"records\": [...]} or an array of records")
    }
    return try items.enumerated().map { index, item in
      guard let fields = item as? [String: Any] else {
        throw APIError(.badRequest, "records[\(index)] must be an object")
      }
      let known: Set = [
        "key", "value", "key_b64", "value_b64", "partition", "headers", "timestamp",
      ]
      if let unknown = fields.keys.sorted().first(where: { !known.contains($0) }) {
        throw APIError(
          .badRequest,
          "records[\(index)]: unknown field '\(unknown)' (known: \(known.sorted().joined(separator: ", ")))"
        )
      }
      return SourceRecord(
        topic: topic,
        partition: try partition(fields["partition"], index: index),
        key: try bytes(fields, "key", index: index),
        value: try bytes(fields, "value", index: index),
        headers: try headers(fields["headers"], index: index),
        timestamp: (fields["timestamp"] as? NSNumber)?.int64Value ?? currentTimeMillis(),
        position: nil)
    }
  }

  private static func partition(_ value: Any?, index: Int) throws -> Int? {
    guard let value, !(value is NSNull) else { return nil }
    guard let number = value as? NSNumber, let p = Int(exactly: number.doubleValue), p >= 0 else {
      throw APIError(.badRequest, "records[\(index)].partition must be a non-negative integer")
    }
    return p
  }

  private static func bytes(_ fields: [String: Any], _ name: String, index: Int) throws -> [UInt8]?
  {
    if let encoded = fields["\(name)_b64"] {
      guard let text = encoded as? String, let data = Data(base64Encoded: text) else {
        throw APIError(.badRequest, "records[\(index)].\(name)_b64 must be base64 text")
      }
      return Array(data)
    }
    do {
      return try RecordJSON.bytes(fromJSONValue: fields[name])
    } catch {
      throw APIError(.badRequest, "records[\(index)].\(name): \(error)")
    }
  }

  private static func headers(_ value: Any?, index: Int) throws -> [RecordHeader] {
    guard let value, !(value is NSNull) else { return [] }
    guard let object = value as? [String: Any] else {
      throw APIError(.badRequest, "records[\(index)].headers must be an object of strings")
    }
    return try object.keys.sorted().map { name in
      guard let text = object[name] as? String else {
        throw APIError(.badRequest, "records[\(index)].headers.\(name) must be a string")
      }
      return RecordHeader(name, text)
    }
  }

  /// Foundation's parse error text, which names the character position.
  private static func reason(_ error: any Error) -> String {
    let ns = error as NSError
    return (ns.userInfo[NSDebugDescriptionErrorKey] as? String) ?? ns.localizedDescription
  }
}
