import Foundation

/// The JSON form of a record used by `sluice consume`, the admin API and the file sink
/// (DESIGN.md §5): `{"topic","partition","offset","timestamp","key","value","headers"}`.
///
/// Key and value appear as JSON when they are valid JSON, else as strings when they are UTF-8,
/// else base64 under `key_b64`/`value_b64`. Header values are strings, or `{"b64": …}` when they
/// are not UTF-8.
public enum RecordJSON {
  /// Renders one record as a single line of JSON (no trailing newline).
  public static func line(for record: Record) -> String {
    var out = String()
    out.reserveCapacity(64 + (record.value?.count ?? 0) + (record.key?.count ?? 0))
    out += "{\"topic\":"
    appendQuoted(record.topic, to: &out)
    out +=
      ",\"partition\":\(record.partition),\"offset\":\(record.offset),\"timestamp\":\(record.timestamp),"
    appendBytes(record.key, field: "key", to: &out)
    out += ","
    appendBytes(record.value, field: "value", to: &out)
    out += ",\"headers\":{"
    for (i, header) in record.headers.enumerated() {
      if i > 0 { out += "," }
      appendQuoted(header.name, to: &out)
      out += ":"
      if let value = header.value {
        if let text = String(validating: value, as: UTF8.self) {
          appendQuoted(text, to: &out)
        } else {
          out += "{\"b64\":\"\(Data(value).base64EncodedString())\"}"
        }
      } else {
        out += "null"
      }
    }
    out += "}}"
    return out
  }

  private static func appendBytes(_ bytes: [UInt8]?, field: String, to out: inout String) {
    guard let bytes else {
      out += "\"\(field)\":null"
      return
    }
    if JSONValidator.isValid(bytes), let text = String(validating: bytes, as: UTF8.self) {
      out += "\"\(field)\":"
      // Valid JSON may still hold raw newlines between tokens; keep a record on one line.
      if text.contains(where: \.isNewline) {
        out += text.replacingOccurrences(of: "\r\n", with: " ").replacingOccurrences(
          of: "\n", with: " "
        )
        .replacingOccurrences(of: "\r", with: " ")
      } else {
        out += text
      }
    } else if let text = String(validating: bytes, as: UTF8.self) {
      out += "\"\(field)\":"
      appendQuoted(text, to: &out)
    } else {
      out += "\"\(field)_b64\":\"\(Data(bytes).base64EncodedString())\""
    }
  }

  /// Appends `text` as a JSON string literal.
  public static func appendQuoted(_ text: String, to out: inout String) {
    out += "\""
    for scalar in text.unicodeScalars {
      switch scalar {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\r": out += "\\r"
      case "\t": out += "\\t"
      case _ where scalar.value < 0x20:
        out += String(format: "\\u%04x", scalar.value)
      default:
        out.unicodeScalars.append(scalar)
      }
    }
    out += "\""
  }
}
