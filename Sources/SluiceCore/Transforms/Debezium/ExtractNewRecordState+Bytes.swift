/// `unwrap` on the event's bytes: the row is cut out of the envelope and the added fields are
/// spliced in after its last member, so a change event is neither parsed to a tree nor written
/// again — the transform's common case, on every record of a CDC pipeline. Gives the records the
/// tree path (``ExtractNewRecordState/apply(to:)``) gives, and declines (nil) what it does not
/// handle the same way: bytes that are not a JSON object, an `op` written with escapes, and a
/// row that already has a member of a name it would add (the tree replaces it in place). The
/// JSON converter's `{"schema","payload"}` form goes through it too, its payload cut the same
/// way (`ExtractNewRecordState+SchemaBytes`).
extension ExtractNewRecordState {
  /// The event after the transform; nil to take the tree path.
  func applyToBytes(_ bytes: [UInt8], of record: inout TransformRecord) throws(TransformError)
    -> Bool?
  {
    guard let document = JSONBytesPath.document(bytes), case .object(let members) = document
    else { return nil }
    let envelope = RawEnvelope(bytes: bytes, document: document, members: members)
    if envelope.isSchemaWrapped {
      return try applyToSchemaWrappedBytes(bytes, members, of: &record)
    }
    switch try unwrapped(envelope, strict: false) {
    case .decline: return nil
    case .unchanged: return true
    case .dropped: return false
    case .tombstone(let added, let topic):
      record.headers += added
      if let topic { record.topic = topic }
      record.value = .bytes(nil)
      return true
    case .row(let value, _, let added, let topic):
      record.headers += added
      if let topic { record.topic = topic }
      record.value = .bytes(value)
      // Cut from an envelope checked to be JSON, with JSON members added: JSON.
      record.valueIsJSON = true
      return true
    }
  }

  /// What the bytes path makes of an envelope.
  enum BytesOutcome {
    /// The tree path is to decide.
    case decline
    /// Not a change event: the record passes as it is.
    case unchanged
    case dropped
    /// A delete become a tombstone, with the headers and the topic (`route.by.field`) to set.
    case tombstone([RecordHeader], String?)
    /// The row as JSON, whether it is the row before (a rewritten delete), headers, topic.
    case row([UInt8], fromBefore: Bool, [RecordHeader], String?)
  }

  /// The transform on `envelope`'s bytes. `strict`: a field or header the envelope does not
  /// hold declines (with schemas every declared one is added, which the tree path does).
  func unwrapped(_ envelope: RawEnvelope, strict: Bool) throws(TransformError) -> BytesOutcome {
    let bytes = envelope.bytes
    guard let op = envelope.op else { return .unchanged }
    guard !op.escaped else { return .decline }
    guard envelope.after != nil || envelope.before != nil else { return .unchanged }
    let afterRow = envelope.after.flatMap(envelope.object)
    let beforeRow = envelope.before.flatMap(envelope.object)
    // A truncate has neither row: Debezium drops it.
    if afterRow == nil && beforeRow == nil {
      guard op.is("t") else {
        throw TransformError("a '\(op.text(bytes))' event with neither a row before nor after")
      }
      return .dropped
    }
    let deleting = op.is("d")
    var added: [RecordHeader] = []
    for header in headers {
      switch envelope.value(of: header) {
      case nil:
        if strict { return .decline }
        continue
      case .null?: added.append(RecordHeader(name: header.newName, value: nil))
      case .range(let range)?:
        let value = JSONBytesPath.value(bytes, range)
        added.append(
          RecordHeader(
            name: header.newName, value: value == .null ? nil : Array(value.plainText.utf8)))
      }
    }
    var topic: String?
    if let routeByField, let row = deleting ? beforeRow : afterRow,
      case .range(let range) = JSONBytesPath.find(
        [.name(routeByField, Array(routeByField.utf8))][...], in: bytes, from: row.lowerBound)
    {
      let value = JSONBytesPath.value(bytes, range)
      if value != .null { topic = value.plainText }
    }
    let row: Range<Int>
    var deleted: [UInt8]?
    if deleting {
      switch deletes {
      case .drop: return .dropped
      case .tombstone: return .tombstone(added, topic)
      case .rewrite:
        guard let beforeRow else {
          throw TransformError("a delete event without a 'before' row to rewrite")
        }
        row = beforeRow
        deleted = Self.deletedTrue
      }
    } else {
      guard let afterRow else {
        throw TransformError("a '\(op.text(bytes))' event without an 'after' row")
      }
      row = afterRow
      if deletes == .rewrite { deleted = Self.deletedFalse }
    }
    var splices: [Splice] = []
    if let deleted { splices.append(Splice(Self.deletedName, Self.deletedMember, deleted[...])) }
    for field in fields {
      switch envelope.value(of: field) {
      case nil:
        if strict { return .decline }
        continue
      case .null?: splices.append(Splice(field.nameBytes, field.member, Self.null[...]))
      case .range(let range)?: splices.append(Splice(field.nameBytes, field.member, bytes[range]))
      }
    }
    guard let value = Self.row(bytes, row, adding: splices) else { return .decline }
    return .row(value, fromBefore: deleting, added, topic)
  }

  /// A member to add to the row: its name, `"name":` as written, and the value's bytes.
  private struct Splice {
    var name: [UInt8]
    var member: [UInt8]
    var value: ArraySlice<UInt8>

    init(_ name: [UInt8], _ member: [UInt8], _ value: ArraySlice<UInt8>) {
      self.name = name
      self.member = member
      self.value = value
    }
  }

  private static let deletedName = Array(deletedField.utf8)
  private static let deletedMember = Array("\"\(deletedField)\":".utf8)
  private static let deletedTrue = Array("\"true\"".utf8)
  private static let deletedFalse = Array("\"false\"".utf8)
  private static let null = Array("null".utf8)

  /// The row's bytes with `splices` as members after its last one; nil when the row already
  /// has a member of one of their names, or two of them have the same name (the tree would
  /// keep one).
  private static func row(_ bytes: [UInt8], _ row: Range<Int>, adding splices: [Splice])
    -> [UInt8]?
  {
    guard !splices.isEmpty else { return Array(bytes[row]) }
    let names = splices.map(\.name)
    for (i, name) in names.enumerated() where names[..<i].contains(name) { return nil }
    guard !JSONBytesPath.hasMember(namedAnyOf: names, in: bytes, object: row) else { return nil }
    // The row is a valid object: its last byte is `}`; whether it is empty decides the comma.
    var end = row.upperBound - 1
    while end > row.lowerBound, [0x20, 0x0A, 0x0D, 0x09].contains(bytes[end - 1]) { end -= 1 }
    var out: [UInt8] = []
    out.reserveCapacity(row.count + splices.reduce(0) { $0 + $1.member.count + $1.value.count + 1 })
    out += bytes[row.lowerBound..<end]
    var first = bytes[end - 1] == UInt8(ascii: "{")
    for splice in splices {
      if !first { out.append(UInt8(ascii: ",")) }
      first = false
      out += splice.member
      out += splice.value
    }
    out.append(UInt8(ascii: "}"))
    return out
  }
}

/// A change event's members in its bytes, for ``ExtractNewRecordState/applyToBytes(_:of:)``:
/// `op`, `after` and `before` found in one pass over the envelope's members, the first of
/// equal names as a parsed object's lookup finds.
struct RawEnvelope {
  let bytes: [UInt8]
  let document: JSONBytesPath.Document
  var op: Op?
  var after: Range<Int>?
  var before: Range<Int>?
  /// Whether the members are the JSON converter's `schema` and `payload`.
  var isSchemaWrapped = false

  /// The `op` string token (quotes included).
  struct Op {
    let token: Range<Int>
    let bytes: [UInt8]

    var escaped: Bool { bytes[token].contains(UInt8(ascii: "\\")) }

    /// Whether it is the one-letter `letter`.
    func `is`(_ letter: Character) -> Bool {
      token.count == 3 && bytes[token.lowerBound + 1] == letter.asciiValue
    }

    func text(_ bytes: [UInt8]) -> String {
      JSONObjectReader.string(bytes, token) ?? ""
    }
  }

  private static let opName = Array("op".utf8)
  private static let falseString = Array("\"false\"".utf8)
  private static let afterName = Array("after".utf8)
  private static let beforeName = Array("before".utf8)
  private static let schemaName = Array("schema".utf8)
  private static let payloadName = Array("payload".utf8)

  init(
    bytes: [UInt8], document: JSONBytesPath.Document,
    members: [(name: Range<Int>, value: Range<Int>)]
  ) {
    self.bytes = bytes
    self.document = document
    var op: Range<Int>?
    var after: Range<Int>?
    var before: Range<Int>?
    isSchemaWrapped = bytes.withUnsafeBufferPointer { buffer in
      members.count == 2
        && members.contains {
          JSONBytesPath.sameName(UnsafeBufferPointer(rebasing: buffer[$0.name]), Self.schemaName)
        }
        && members.contains {
          JSONBytesPath.sameName(UnsafeBufferPointer(rebasing: buffer[$0.name]), Self.payloadName)
        }
    }
    bytes.withUnsafeBufferPointer { buffer in
      for member in members {
        let name = UnsafeBufferPointer(rebasing: buffer[member.name])
        if op == nil, JSONBytesPath.sameName(name, Self.opName) {
          op = member.value
        } else if after == nil, JSONBytesPath.sameName(name, Self.afterName) {
          after = member.value
        } else if before == nil, JSONBytesPath.sameName(name, Self.beforeName) {
          before = member.value
        }
      }
    }
    // Only a string `op` makes a change event.
    if let op, bytes[op.lowerBound] == UInt8(ascii: "\"") {
      self.op = Op(token: op, bytes: bytes)
    }
    self.after = after
    self.before = before
  }

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

  enum Found {
    case null
    case range(Range<Int>)
  }

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
        if field.isSourceSnapshot, bytes[range].elementsEqual(Self.falseString) { return .null }
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
