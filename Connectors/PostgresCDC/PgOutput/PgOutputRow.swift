/// A row as the stream reads it: its values left where they are in `bytes` (a message), each
/// column a range of it, so a change is turned into JSON without copying each value first.
struct Row {
  enum Column: Equatable {
    case null
    case unchangedToast
    case text(Range<Int>)
  }

  var bytes: ArraySlice<UInt8>
  var columns: [Column]

  init(bytes: ArraySlice<UInt8>, columns: [Column]) {
    self.bytes = bytes
    self.columns = columns
  }

  /// Values given one by one (snapshot reads, tests) gathered into one buffer.
  init(_ values: [PgOutputMessage.TupleValue]) {
    var buffer: [UInt8] = []
    columns = values.map { value in
      switch value {
      case .null: return .null
      case .unchangedToast: return .unchangedToast
      case .text(let text):
        let start = buffer.count
        buffer += text
        return .text(start..<buffer.count)
      }
    }
    bytes = buffer[...]
  }

  /// Reads a TupleData: a column count, then per column its kind and, for text, its bytes.
  init(_ r: inout ByteReader) throws(ProtocolError) {
    let count = Int(try r.uint16())
    var columns: [Column] = []
    columns.reserveCapacity(count)
    for _ in 0..<count {
      switch try r.byte() {
      case UInt8(ascii: "n"): columns.append(.null)
      case UInt8(ascii: "u"): columns.append(.unchangedToast)
      case UInt8(ascii: "t"):
        let length = Int(try r.int32())
        let text = try r.take(length)
        columns.append(.text(text.startIndex..<text.endIndex))
      case let kind:
        throw ProtocolError("unknown tuple value kind '\(Character(Unicode.Scalar(kind)))'")
      }
    }
    self.init(bytes: r.bytes, columns: columns)
  }

  var count: Int { columns.count }

  /// Whether column `i` was sent (not an unchanged TOAST value the server left out, nor NULL).
  func hasText(_ i: Int) -> Bool {
    if case .text = columns[i] { return true }
    return false
  }

  /// Column `i` as a value of its own.
  func value(_ i: Int) -> PgOutputMessage.TupleValue {
    switch columns[i] {
    case .null: .null
    case .unchangedToast: .unchangedToast
    case .text(let range): .text(Array(bytes[range]))
    }
  }
}

extension Row: Equatable {
  /// Rows are equal when their values are, wherever in their buffers those sit.
  static func == (a: Row, b: Row) -> Bool {
    a.count == b.count && (0..<a.count).allSatisfy { a.value($0) == b.value($0) }
  }
}

extension PgOutputMessage {
  /// One column's value on its own: NULL, an unchanged TOAST value the server did not send,
  /// or text. What snapshot reads produce; the stream keeps values in place (``Row``).
  enum TupleValue: Equatable {
    case null
    case unchangedToast
    case text([UInt8])
  }
}
