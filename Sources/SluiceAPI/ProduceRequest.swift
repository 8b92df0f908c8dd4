import Foundation
import SluiceCore

/// The body of `POST /topics/{topic}/records`, in the Kafka REST proxy's shape:
/// `{"records":[{"key":…,"value":…,"partition":0,"timestamp":…,"headers":{"name":"value"}}]}`
/// (or a bare array of records). `key`/`value` strings are taken as text, other JSON as its
/// text without insignificant whitespace; `key_b64`/`value_b64` carry raw bytes.
///
/// The body is read in place (``JSONObjectReader``), never as a tree of boxed values, and holds
/// at most ``maxRecords`` records, so a request costs a small multiple of its size. Fields are
/// typed strictly: `"partition": true` or `1.5` is a 400, not a coerced number.
enum ProduceRequest {
  /// Records one request may carry; a larger batch is split by the client.
  static let maxRecords = 10_000

  static let fields: Set = [
    "key", "value", "key_b64", "value_b64", "partition", "headers", "timestamp",
  ]

  static func parse(_ body: [UInt8], topic: String) throws -> [SourceRecord] {
    guard let first = firstByte(body) else { throw APIError(.badRequest, "body is empty") }
    let list: Range<Int>
    if first == UInt8(ascii: "{") {
      guard let members = JSONObjectReader.members(of: body) else { throw notJSON(body) }
      guard let records = members.first(where: { $0.name == "records" }), records.kind == .array
      else {
        throw APIError(.badRequest, "expected {\"records\": [...]} or an array of records")
      }
      list = records.value
    } else if first == UInt8(ascii: "[") {
      list = 0..<body.count
    } else {
      if !JSONValidator.isValid(body) { throw notJSON(body) }
      throw APIError(.badRequest, "expected {\"records\": [...]} or an array of records")
    }
    guard let items = JSONObjectReader.elements(of: body, in: list) else { throw notJSON(body) }
    guard items.count <= maxRecords else {
      throw APIError(
        .contentTooLarge,
        "\(items.count) records in one request; at most \(maxRecords) are accepted")
    }
    let now = currentTimeMillis()
    return try items.enumerated().map { index, item in
      guard item.kind == .object, let members = JSONObjectReader.members(of: body, in: item.value)
      else {
        throw APIError(.badRequest, "records[\(index)] must be an object")
      }
      return try record(members, in: body, index: index, topic: topic, now: now)
    }
  }

  private static func record(
    _ members: [JSONMember], in body: [UInt8], index: Int, topic: String, now: Int64
  ) throws -> SourceRecord {
    var byName: [String: JSONMember] = [:]
    for member in members {
      guard fields.contains(member.name) else {
        throw APIError(
          .badRequest,
          "records[\(index)]: unknown field '\(member.name)' (known: \(fields.sorted().joined(separator: ", ")))"
        )
      }
      byName[member.name] = member
    }
    let field = FieldReader(body: body, prefix: "records[\(index)]")
    let partition = try byName["partition"].flatMap {
      try field.integer($0, range: 0...Int64(Int32.max), what: "a non-negative integer")
    }
    let timestamp = try byName["timestamp"].flatMap {
      try field.integer(
        $0, range: RecordTimestamp.valid,
        what: "milliseconds since 1970 from 0 to \(RecordTimestamp.valid.upperBound)")
    }
    return SourceRecord(
      topic: topic,
      partition: partition.map { Int($0) },
      key: try field.bytes(byName, "key"),
      value: try field.bytes(byName, "value"),
      headers: try byName["headers"].map { try field.headers($0) } ?? [],
      timestamp: timestamp ?? now,
      position: nil)
  }

  private static func firstByte(_ body: [UInt8]) -> UInt8? {
    body.first { $0 != 0x20 && $0 != 0x0A && $0 != 0x0D && $0 != 0x09 }
  }

  private static func notJSON(_ body: [UInt8]) -> APIError {
    let offset = JSONValidator.errorOffset(body).map { ": error at byte \($0)" } ?? ""
    return APIError(.badRequest, "body is not valid JSON\(offset)")
  }
}

/// Reads the typed fields of one record of a produce request from their byte ranges.
private struct FieldReader {
  let body: [UInt8]
  let prefix: String

  func integer(_ member: JSONMember, range: ClosedRange<Int64>, what: String) throws -> Int64? {
    if member.kind == .null { return nil }
    let text = String(decoding: body[member.value], as: UTF8.self)
    // Only a plain integer token: `1.5`, `1e3`, `true` and `"1"` are refused, not coerced.
    guard member.kind == .number, let number = Int64(text), range.contains(number) else {
      throw APIError(.badRequest, "\(prefix).\(member.name) must be \(what), got \(text)")
    }
    return number
  }

  func bytes(_ members: [String: JSONMember], _ name: String) throws -> [UInt8]? {
    if let encoded = members["\(name)_b64"] {
      guard encoded.kind == .string, let text = JSONObjectReader.string(body, encoded.value),
        let data = Data(base64Encoded: text)
      else {
        throw APIError(.badRequest, "\(prefix).\(name)_b64 must be base64 text")
      }
      return Array(data)
    }
    guard let member = members[name] else { return nil }
    switch member.kind {
    case .null: return nil
    case .string:
      guard let text = JSONObjectReader.string(body, member.value) else {
        throw APIError(.badRequest, "\(prefix).\(name) is not a valid JSON string")
      }
      return Array(text.utf8)
    default: return JSONText.compact(body[member.value])
    }
  }

  func headers(_ member: JSONMember) throws -> [RecordHeader] {
    if member.kind == .null { return [] }
    guard member.kind == .object, let members = JSONObjectReader.members(of: body, in: member.value)
    else {
      throw APIError(.badRequest, "\(prefix).headers must be an object of strings")
    }
    return try members.map { header in
      guard header.kind == .string, let text = JSONObjectReader.string(body, header.value) else {
        throw APIError(.badRequest, "\(prefix).headers.\(header.name) must be a string")
      }
      return RecordHeader(header.name, text)
    }
  }
}

/// JSON text without its insignificant whitespace.
enum JSONText {
  static func compact(_ text: ArraySlice<UInt8>) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(text.count)
    var inString = false
    var escaped = false
    for byte in text {
      if inString {
        out.append(byte)
        if escaped {
          escaped = false
        } else if byte == UInt8(ascii: "\\") {
          escaped = true
        } else if byte == UInt8(ascii: "\"") {
          inString = false
        }
      } else if byte == UInt8(ascii: "\"") {
        inString = true
        out.append(byte)
      } else if byte != 0x20 && byte != 0x0A && byte != 0x0D && byte != 0x09 {
        out.append(byte)
      }
    }
    return out
  }
}
