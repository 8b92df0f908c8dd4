import Foundation
import SluiceCore

/// A URL or header value with placeholders filled from each record: `{topic}`, `{partition}`,
/// `{key}` (the key as text; a JSON string key without its quotes), `{key:/pointer}` and
/// `{value:/pointer}` (RFC 6901 pointers into a JSON key or value; `{json:/…}` is the same as
/// `{value:/…}`, as in the webhook source).
struct RequestTemplate: Sendable {
  enum Part: Sendable, Equatable {
    case literal(String)
    case topic, partition, key
    case keyPointer(String)
    case valuePointer(String)
  }

  let text: String
  let parts: [Part]
  /// Percent-encodes filled-in values, for URLs.
  let escaping: Bool

  var isLiteral: Bool { parts.allSatisfy { if case .literal = $0 { true } else { false } } }

  /// Parses the template at `node`; in batch mode only `{topic}` and `{partition}` may appear,
  /// since one request carries many records of one partition.
  init(_ node: ConfigNode, escaping: Bool, batchMode: Bool) throws(ConfigError) {
    text = try node.string()
    self.escaping = escaping
    var parts: [Part] = []
    if text.contains("{") || text.contains("}") {
      let parsed: TopicTemplate
      do throws(TemplateError) {
        parsed = try TopicTemplate(text)
      } catch {
        throw node.error(error.message)
      }
      for part in parsed.parts {
        switch part {
        case .literal(let literal): parts.append(.literal(literal))
        case .placeholder(let name):
          let part: Part
          switch name {
          case "topic": part = .topic
          case "partition": part = .partition
          case "key": part = .key
          case _ where name.hasPrefix("key:/"): part = .keyPointer(String(name.dropFirst(4)))
          case _ where name.hasPrefix("value:/"): part = .valuePointer(String(name.dropFirst(6)))
          case _ where name.hasPrefix("json:/"): part = .valuePointer(String(name.dropFirst(5)))
          default:
            throw node.error(
              "unknown placeholder {\(name)}; expected {topic}, {partition}, {key}, {key:/pointer} or {value:/pointer}"
            )
          }
          if batchMode && part != .topic && part != .partition {
            throw node.error(
              "{\(name)} differs between the records of a batch; with batch: only {topic} and {partition} may appear"
            )
          }
          parts.append(part)
        }
      }
    } else {
      parts = [.literal(text)]
    }
    self.parts = parts
  }

  /// The text for `record`; throws the reason when a placeholder has no value in it.
  func render(_ record: Record, value document: @autoclosure () -> JSONValue?) throws(RenderError)
    -> String
  {
    if parts.count == 1, case .literal(let text) = parts[0] { return text }
    var out = ""
    var decodedValue: JSONValue?? = nil
    for part in parts {
      let filled: String?
      switch part {
      case .literal(let text):
        out += text
        continue
      case .topic: filled = record.topic
      case .partition: filled = String(record.partition)
      case .key: filled = record.key.map(Self.keyText)
      case .keyPointer(let pointer):
        filled = record.key.flatMap {
          JSONPointer.text(pointer, in: JSONValue.parse($0))
        }
      case .valuePointer(let pointer):
        if decodedValue == nil { decodedValue = .some(document()) }
        filled = JSONPointer.text(pointer, in: decodedValue!)
      }
      guard let filled, !filled.isEmpty else {
        throw RenderError(message: "'\(text)': the record has no value for \(Self.describe(part))")
      }
      if escaping {
        out += filled.addingPercentEncoding(withAllowedCharacters: Self.unreserved) ?? filled
      } else {
        guard !filled.unicodeScalars.contains(where: { $0 == "\r" || $0 == "\n" }) else {
          throw RenderError(message: "'\(text)': \(Self.describe(part)) holds a line break")
        }
        out += filled
      }
    }
    return out
  }

  /// RFC 3986's unreserved characters: everything else in a filled-in value is escaped, so a
  /// key cannot add path segments or a query to the URL.
  private static let unreserved = CharacterSet(
    charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

  private static func keyText(_ key: [UInt8]) -> String {
    if key.count >= 2, key.first == UInt8(ascii: "\""), let text = JSONValue.parse(key)?.string {
      return text
    }
    return String(decoding: key, as: UTF8.self)
  }

  private static func describe(_ part: Part) -> String {
    switch part {
    case .literal: "text"
    case .topic: "{topic}"
    case .partition: "{partition}"
    case .key: "{key}"
    case .keyPointer(let p): "{key:\(p)}"
    case .valuePointer(let p): "{value:\(p)}"
    }
  }
}

/// Why a template has no text for a record: the record is sent to the DLQ with this reason.
struct RenderError: Error, Sendable {
  var message: String
}
