/// `unwrap` on the event's bytes: the row is cut out of the envelope and the added fields are
/// spliced in after its last member, so a change event is neither parsed to a tree nor written
/// again — the transform's common case, on every record of a CDC pipeline. Gives the records the
/// tree path (``ExtractNewRecordState/apply(to:)``) gives, and declines (nil) what it does not
/// handle the same way: bytes that are not a JSON object, and a row that already has a member of
/// a name it would add (the tree replaces that member in place).
extension ExtractNewRecordState {
  /// The event after the transform; nil to take the tree path.
  func applyToBytes(_ bytes: [UInt8], of record: inout TransformRecord) throws(TransformError)
    -> Bool?
  {
    guard let document = JSONBytesPath.document(bytes), case .object = document else {
      return nil
    }
    let envelope = RawEnvelope(bytes: bytes, document: document)
    guard let opRange = envelope.member("op"), bytes[opRange.lowerBound] == UInt8(ascii: "\""),
      let op = JSONObjectReader.string(bytes, opRange)
    else { return true }
    let after = envelope.member("after")
    let before = envelope.member("before")
    guard after != nil || before != nil else { return true }
    let afterRow = after.flatMap(envelope.object)
    let beforeRow = before.flatMap(envelope.object)
    // A truncate has neither row: Debezium drops it.
    if afterRow == nil && beforeRow == nil {
      guard op == "t" else {
        throw TransformError("a '\(op)' event with neither a row before nor after")
      }
      return false
    }
    var added: [RecordHeader] = []
    for header in headers {
      switch envelope.value(of: header) {
      case nil: continue
      case .null?: added.append(RecordHeader(name: header.newName, value: nil))
      case .range(let range)?:
        let value = JSONBytesPath.value(bytes, range)
        added.append(
          RecordHeader(name: header.newName, value: value == .null ? nil : Array(value.plainText.utf8)))
      }
    }
    var topic: String?
    if let routeByField, let row = op == "d" ? beforeRow : afterRow,
      case .range(let range) = JSONBytesPath.find(
        [.name(routeByField, Array(routeByField.utf8))][...], in: bytes, from: row.lowerBound)
    {
      let value = JSONBytesPath.value(bytes, range)
      if value != .null { topic = value.plainText }
    }
    let row: Range<Int>
    var deleted: String?
    if op == "d" {
      switch deletes {
      case .drop: return false
      case .tombstone:
        record.headers += added
        if let topic { record.topic = topic }
        record.value = .bytes(nil)
        return true
      case .rewrite:
        guard let beforeRow else {
          throw TransformError("a delete event without a 'before' row to rewrite")
        }
        row = beforeRow
        deleted = "\"true\""
      }
    } else {
      guard let afterRow else {
        throw TransformError("a '\(op)' event without an 'after' row")
      }
      row = afterRow
      if deletes == .rewrite { deleted = "\"false\"" }
    }
    var splices: [(name: String, value: ArraySlice<UInt8>)] = []
    if let deleted { splices.append((Self.deletedField, ArraySlice(deleted.utf8))) }
    for field in fields {
      switch envelope.value(of: field) {
      case nil: continue
      case .null?: splices.append((field.newName, ArraySlice("null".utf8)))
      case .range(let range)?: splices.append((field.newName, bytes[range]))
      }
    }
    guard let value = Self.row(bytes, row, adding: splices) else { return nil }
    record.headers += added
    if let topic { record.topic = topic }
    record.value = .bytes(value)
    return true
  }

  /// The row's bytes with `splices` as members after its last one; nil when the row already
  /// has a member of one of their names, or one name comes twice.
  static func row(
    _ bytes: [UInt8], _ row: Range<Int>, adding splices: [(name: String, value: ArraySlice<UInt8>)]
  ) -> [UInt8]? {
    guard !splices.isEmpty else { return Array(bytes[row]) }
    var names = Set<String>()
    for splice in splices {
      guard names.insert(splice.name).inserted,
        case .missing = JSONBytesPath.find(
          [.name(splice.name, Array(splice.name.utf8))][...], in: bytes, from: row.lowerBound)
      else { return nil }
    }
    // The row is a valid object: its last byte is `}`; whether it is empty decides the comma.
    var body = bytes[row.lowerBound..<(row.upperBound - 1)]
    while let last = body.last, last == 0x20 || last == 0x0A || last == 0x0D || last == 0x09 {
      body = body.dropLast()
    }
    var out: [UInt8] = []
    out.reserveCapacity(row.count + splices.reduce(0) { $0 + $1.name.utf8.count + $1.value.count + 4 })
    out += body
    var first = body.last == UInt8(ascii: "{")
    for splice in splices {
      if !first { out.append(UInt8(ascii: ",")) }
      first = false
      out += JSONValue.string(splice.name).jsonBytes
      out.append(UInt8(ascii: ":"))
      out += splice.value
    }
    out.append(UInt8(ascii: "}"))
    return out
  }
}

/// A change event's members in its bytes, for ``ExtractNewRecordState/applyToBytes(_:of:)``.
private struct RawEnvelope {
  let bytes: [UInt8]
  let document: JSONBytesPath.Document

  /// A member of the envelope's first level (the first of equal names).
  func member(_ name: String) -> Range<Int>? {
    if case .range(let range) = JSONBytesPath.find(
      [.name(name, Array(name.utf8))], in: bytes, document)
    {
      return range
    }
    return nil
  }

  /// The range when it holds an object, nil otherwise (null, another type).
  func object(_ range: Range<Int>) -> Range<Int>? {
    bytes[range.lowerBound] == UInt8(ascii: "{") ? range : nil
  }

  enum Found { case null, range(Range<Int>) }

  /// ``EnvelopeField/value(in:)`` on the bytes: the block's member, or the envelope's own when
  /// the block lacks it; null when the block is null.
  func value(of field: EnvelopeField) -> Found? {
    guard let block = field.block, let blockRange = member(block) else {
      return member(field.field).map(Found.range)
    }
    switch bytes[blockRange.lowerBound] {
    case UInt8(ascii: "{"):
      if case .range(let range) = JSONBytesPath.find(
        [.name(field.field, Array(field.field.utf8))][...], in: bytes, from: blockRange.lowerBound)
      {
        return .range(range)
      }
      return member(field.field).map(Found.range)
    case UInt8(ascii: "n"):
      return .null
    default:
      return member(field.field).map(Found.range)
    }
  }
}
