import SluiceCore

/// hstore values under Debezium's `hstore.handling.mode`: `json` writes the pairs as JSON
/// text in a string, `map` as a JSON object.
///
/// Debezium reads the pairs into a Java `HashMap` and writes them in its iteration order, so
/// the pairs here are put in that order (``javaHashMapOrder(_:)``): the JSON string is then
/// the same text as Debezium's, not only the same object.
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
    guard let parsed = pairs(text) else {
      out.string(utf8: text)
      return
    }
    let pairs = javaHashMapOrder(parsed)
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

  /// The order a `java.util.HashMap` (default capacity 16, load factor 0.75) iterates keys
  /// inserted in this order: by bucket — the key's `String.hashCode()` spread as HashMap
  /// spreads it, masked by the table size — and within a bucket by insertion.
  static func javaHashMapOrder<Value>(_ pairs: [(String, Value)]) -> [(String, Value)] {
    var capacity = 16
    while pairs.count > capacity * 3 / 4 { capacity *= 2 }
    func bucket(_ key: String) -> Int {
      var hash: Int32 = 0
      for unit in key.utf16 { hash = hash &* 31 &+ Int32(unit) }
      let spread = UInt32(bitPattern: hash) ^ (UInt32(bitPattern: hash) >> 16)
      return Int(spread & UInt32(capacity - 1))
    }
    return pairs.enumerated().sorted {
      let (a, b) = (bucket($0.element.0), bucket($1.element.0))
      return a != b ? a < b : $0.offset < $1.offset
    }.map(\.element)
  }
}
