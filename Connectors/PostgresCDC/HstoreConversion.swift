/// hstore values under Debezium's `hstore.handling.mode`: `json` writes the pairs as JSON
/// text in a string, `map` as a JSON object. Pairs keep the order PostgreSQL prints them in.
enum HstoreConversion {
  /// `"a"=>"1", "b"=>NULL` as pairs; nil when the text is not hstore output.
  static func pairs<C: Collection<UInt8>>(_ text: C) -> [(String, String?)]? {
    let bytes = Array(text)
    var i = 0
    var result: [(String, String?)] = []
    func skipSpace() {
      while i < bytes.count, bytes[i] == UInt8(ascii: " ") || bytes[i] == UInt8(ascii: ",") {
        i += 1
      }
    }
    func quoted() -> String? {
      guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { return nil }
      i += 1
      var value: [UInt8] = []
      while i < bytes.count, bytes[i] != UInt8(ascii: "\"") {
        if bytes[i] == UInt8(ascii: "\\") { i += 1 }
        guard i < bytes.count else { return nil }
        value.append(bytes[i])
        i += 1
      }
      guard i < bytes.count else { return nil }
      i += 1
      return String(decoding: value, as: UTF8.self)
    }
    skipSpace()
    while i < bytes.count {
      guard let key = quoted() else { return nil }
      guard i + 1 < bytes.count, bytes[i] == UInt8(ascii: "="), bytes[i + 1] == UInt8(ascii: ">")
      else { return nil }
      i += 2
      if bytes[i...].starts(with: "NULL".utf8) {
        i += 4
        result.append((key, nil))
      } else {
        guard let value = quoted() else { return nil }
        result.append((key, value))
      }
      skipSpace()
    }
    return result
  }

  static func write<C: Collection<UInt8>>(
    _ text: C, mode: ValueConversionOptions.HstoreHandling, to out: inout JSONWriter
  ) {
    guard let pairs = pairs(text) else {
      out.string(utf8: text)
      return
    }
    var object = JSONWriter()
    object.byte("{")
    for (n, (key, value)) in pairs.enumerated() {
      if n > 0 { object.byte(",") }
      object.key(key)
      if let value { object.string(value) } else { object.null() }
    }
    object.byte("}")
    switch mode {
    case .json: out.string(utf8: object.bytes)
    case .map: out.raw(object.bytes)
    }
  }
}
