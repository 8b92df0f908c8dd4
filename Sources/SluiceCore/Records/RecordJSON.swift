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
    bytes(for: record).withUnsafeBufferPointer { String(decoding: $0, as: UTF8.self) }
  }

  /// ``line(for:)`` as UTF-8 bytes.
  public static func bytes(for record: Record) -> [UInt8] {
    var out = JSONWriter(capacity: 64 + (record.value?.count ?? 0) + (record.key?.count ?? 0))
    write(record, to: &out)
    return out.bytes
  }

  /// Appends ``line(for:)``'s JSON.
  public static func write(_ record: Record, to out: inout JSONWriter) {
    out.raw("{\"topic\":")
    out.string(record.topic)
    out.raw(",\"partition\":")
    out.number(Int64(record.partition))
    out.raw(",\"offset\":")
    out.number(record.offset)
    out.raw(",\"timestamp\":")
    out.number(record.timestamp)
    out.raw(",")
    writeBytes(record.key, field: "key", to: &out)
    out.raw(",")
    writeBytes(record.value, field: "value", to: &out)
    out.raw(",\"headers\":{")
    for (i, header) in record.headers.enumerated() {
      if i > 0 { out.raw(",") }
      out.key(header.name)
      if let value = header.value {
        if isUTF8(value) {
          out.string(utf8: value)
        } else {
          out.raw("{\"b64\":\"")
          out.raw(Data(value).base64EncodedString().utf8)
          out.raw("\"}")
        }
      } else {
        out.null()
      }
    }
    out.raw("}}")
  }

  private static func writeBytes(_ bytes: [UInt8]?, field: StaticString, to out: inout JSONWriter) {
    guard let bytes else {
      out.byte("\"")
      out.raw(field)
      out.raw("\":null")
      return
    }
    if JSONValidator.isValid(bytes), isUTF8(bytes) {
      out.byte("\"")
      out.raw(field)
      out.raw("\":")
      // Valid JSON may still hold raw newlines between tokens; keep a record on one line
      // (a CRLF becomes one space).
      guard bytes.contains(where: { $0 == 10 || $0 == 13 }) else {
        out.raw(bytes)
        return
      }
      var i = 0
      while i < bytes.count {
        let c = bytes[i]
        if c == 13 || c == 10 {
          out.byte(" ")
          if c == 13, i + 1 < bytes.count, bytes[i + 1] == 10 { i += 1 }
        } else {
          out.bytes.append(c)
        }
        i += 1
      }
    } else if isUTF8(bytes) {
      out.byte("\"")
      out.raw(field)
      out.raw("\":")
      out.string(utf8: bytes)
    } else {
      out.byte("\"")
      out.raw(field)
      out.raw("_b64\":\"")
      out.raw(Data(bytes).base64EncodedString().utf8)
      out.byte("\"")
    }
  }

  private static func isUTF8(_ bytes: [UInt8]) -> Bool {
    String(validating: bytes, as: UTF8.self) != nil
  }
}
