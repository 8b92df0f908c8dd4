import Foundation
import Synchronization

/// `unwrap` on the bytes of a change event in the JSON converter's `{"schema","payload"}` form:
/// the payload goes through the bytes path (``ExtractNewRecordState/unwrapped(_:strict:)``)
/// and the schema it gets is worked out once per envelope schema and kept
/// (``UnwrapSchemaCache``), so an event is neither parsed to a tree nor written again — what
/// the tree path (`ExtractNewRecordState+Schemas`) costs is parsing its ~2–3 KB schema. Gives
/// the records the tree path gives; what it does not handle the same way goes to the tree:
/// a null payload, added fields or headers the schema declares that the payload lacks, added
/// fields with a default (but `source.snapshot`, whose default the bytes path knows), and what
/// the bytes path declines without schemas.
extension ExtractNewRecordState {
  /// The wrapped event after the transform; nil to take the tree path. `members` are the
  /// wrapper's, `schema` and `payload`.
  func applyToSchemaWrappedBytes(
    _ bytes: [UInt8], _ members: [(name: Range<Int>, value: Range<Int>)],
    of record: inout TransformRecord
  ) throws(TransformError) -> Bool? {
    var schemaRange: Range<Int>?
    var payloadRange: Range<Int>?
    bytes.withUnsafeBufferPointer { buffer in
      for member in members {
        let name = UnsafeBufferPointer(rebasing: buffer[member.name])
        if JSONBytesPath.sameName(name, Self.schemaName) {
          schemaRange = member.value
        } else if JSONBytesPath.sameName(name, Self.payloadName) {
          payloadRange = member.value
        }
      }
    }
    guard let schemaRange, let payloadRange, bytes[schemaRange.lowerBound] == UInt8(ascii: "{"),
      bytes[payloadRange.lowerBound] == UInt8(ascii: "{")
    else { return nil }
    let schemas = schemaCache.schemas(for: bytes[schemaRange], of: self)
    let resolved: UnwrapSchemaCache.Resolved
    switch schemas {
    // Not a change event's schema: Debezium passes the record unchanged.
    case .notEnvelope: return true
    case .tree: return nil
    case .resolved(let found): resolved = found
    }
    let payload = Array(bytes[payloadRange])
    guard let document = JSONBytesPath.document(payload), case .object(let inner) = document
    else { return nil }
    var declared = self
    declared.fields = resolved.fields
    declared.headers = resolved.headers
    let envelope = RawEnvelope(bytes: payload, document: document, members: inner)
    switch try declared.unwrapped(envelope, strict: true) {
    case .decline: return nil
    case .unchanged: return nil
    case .dropped: return false
    case .tombstone(let added, let topic):
      record.headers += added
      if let topic { record.topic = topic }
      if tombstoneKeepsSchema {
        record.value = .bytes(Self.wrap(resolved.tombstone, Self.null[...]))
        record.valueIsJSON = true
      } else {
        record.value = .bytes(nil)
      }
      return true
    case .row(let row, let fromBefore, let added, let topic):
      record.headers += added
      if let topic { record.topic = topic }
      record.value = .bytes(Self.wrap(fromBefore ? resolved.before : resolved.after, row[...]))
      record.valueIsJSON = true
      return true
    }
  }

  private static let schemaName = Array("schema".utf8)
  private static let payloadName = Array("payload".utf8)
  private static let null = Array("null".utf8)

  /// `{"schema":<schema>,"payload":<payload>}`.
  private static func wrap(_ schema: [UInt8], _ payload: ArraySlice<UInt8>) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(schema.count + payload.count + 24)
    out += Array(#"{"schema":"#.utf8)
    out += schema
    out += Array(#","payload":"#.utf8)
    out += payload
    out.append(UInt8(ascii: "}"))
    return out
  }

  /// What the schema path makes of one envelope schema (see ``UnwrapSchemaCache``).
  func resolveSchemas(_ schemaBytes: ArraySlice<UInt8>) -> UnwrapSchemaCache.Schemas {
    guard case .object(let schema)? = JSONValue.parse(Array(schemaBytes)) else { return .tree }
    guard let event = SchemaWrappedEnvelope(schema: schema, payload: .null) else {
      return .notEnvelope
    }
    guard let after = event.member("after"), let before = event.member("before") else {
      return .tree
    }
    var declaredFields: [EnvelopeField] = []
    var declaredHeaders: [EnvelopeField] = []
    for (list, into) in [(fields, 0), (headers, 1)] {
      for field in list {
        guard let found = event.schema(of: field) else { continue }
        // A default stands for a null the bytes path cannot tell (``raw(_:of:)``).
        if found["default"] != nil && !field.isSourceSnapshot { return .tree }
        if into == 0 { declaredFields.append(field) } else { declaredHeaders.append(field) }
      }
    }
    func json(_ object: JSONObject) -> [UInt8] { Array(JSONValue.object(object).jsonText.utf8) }
    return .resolved(
      UnwrapSchemaCache.Resolved(
        fields: declaredFields, headers: declaredHeaders,
        after: json(valueSchema(of: after, in: event)),
        before: json(valueSchema(of: before, in: event)),
        tombstone: json(Self.copy(after, optional: true))))
  }
}

/// The schemas `unwrap` gives the rows of each envelope schema it has seen, so that the bytes
/// path works one out once, not per event: the last one (events of one table come in runs),
/// and up to ``limit`` by their bytes. Shared by the copies of one configured transform.
final class UnwrapSchemaCache: Sendable {
  /// What an envelope schema comes to.
  enum Schemas: Sendable {
    /// Not a change event's schema.
    case notEnvelope
    /// One the tree path handles.
    case tree
    case resolved(Resolved)
  }

  /// The schemas of the rows of one envelope schema, as JSON, and the added fields and headers
  /// it declares.
  struct Resolved: Sendable {
    var fields: [EnvelopeField]
    var headers: [EnvelopeField]
    /// Of a row cut from `after`, and of one cut from `before` (a rewritten delete).
    var after: [UInt8]
    var before: [UInt8]
    /// Of a delete in `tombstone` mode (with a null payload).
    var tombstone: [UInt8]
  }

  private struct State {
    var last: (key: [UInt8], schemas: Schemas)?
    var known: [[UInt8]: Schemas] = [:]
  }

  private let state = Mutex(State())
  /// Past this many schemas the memo is cleared: schemas change with tables, which are few.
  static let limit = 256

  /// What the envelope schema `key` (its JSON bytes) comes to, worked out by `transform` the
  /// first time it is seen.
  func schemas(for key: ArraySlice<UInt8>, of transform: ExtractNewRecordState)
    -> Schemas
  {
    let found: Schemas? = state.withLock { state in
      if let last = state.last, Self.same(last.key, key) { return last.schemas }
      guard let known = state.known[Array(key)] else { return nil }
      state.last = (Array(key), known)
      return known
    }
    if let found { return found }
    let made = transform.resolveSchemas(key)
    state.withLock { state in
      if state.known.count >= Self.limit { state.known.removeAll() }
      state.known[Array(key)] = made
      state.last = (Array(key), made)
    }
    return made
  }

  private static func same(_ a: [UInt8], _ b: ArraySlice<UInt8>) -> Bool {
    guard a.count == b.count else { return false }
    guard !a.isEmpty else { return true }
    return a.withUnsafeBytes { x in
      b.withUnsafeBytes { y in memcmp(x.baseAddress!, y.baseAddress!, a.count) == 0 }
    }
  }
}
