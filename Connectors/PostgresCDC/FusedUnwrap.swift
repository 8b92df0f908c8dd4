import SluiceCore

/// Debezium's `unwrap` (ExtractNewRecordState) done by the renderer: when a connector's chain
/// starts with it, ``ChangeStream`` writes the row the transform would keep — `after`, or for a
/// delete what the delete mode makes — with the added fields and headers, instead of the
/// envelope (``TransformFusingSource`` in SluiceCore says why and what it promises).
///
/// What it renders itself is what the transform's byte path (`ExtractNewRecordState+Bytes`)
/// would make of this connector's envelopes: the row's bytes as written, with the added members
/// after its last one. It takes the transform itself for what that path would not do the same
/// way: added members whose names repeat, for every event; a table with a column of an added
/// member's name (the transform replaces it in place), for that table's events. Those events
/// are rendered as envelopes and given to the transform, so every record is the transform's.
/// `route.by.field` (which changes topics) and options that name a part of the envelope that is
/// a row or a block (`add.fields: before`, `after.id`) are not fused at all.
struct FusedUnwrap: Sendable {
  /// The member of this connector's envelope a field in `add.fields` or `add.headers` names.
  enum Value: Sendable, Equatable {
    /// `op`.
    case op
    /// The envelope's `ts_ms`, `ts_us`, `ts_ns`: when the event was rendered.
    case eventMilliseconds, eventMicroseconds, eventNanoseconds
    case source(SourceMember)
    /// A member of the `transaction` block: null without transaction metadata.
    case transaction(TransactionMember)
    /// The `transaction` block itself: an object with transaction metadata, else null.
    case transactionBlock
    /// A member whose value is always null: `source.xmin`, `source.origin`.
    case null
  }

  /// The members of the envelope's `transaction` block (``TransactionMetadata``).
  enum TransactionMember: String, Sendable {
    case id
    case totalOrder = "total_order"
    case collectionOrder = "data_collection_order"
  }

  /// The members of the envelope's `source` block, as ``ChangeStream`` writes them.
  enum SourceMember: String, Sendable, CaseIterable {
    case version, connector, name
    case milliseconds = "ts_ms"
    case snapshot, db, sequence
    case microseconds = "ts_us"
    case nanoseconds = "ts_ns"
    case schema, table, txId, lsn, xmin, origin
    case originLSN = "origin_lsn"
  }

  /// A member added to the row, or a header: its name and where its value comes from.
  struct Added: Sendable {
    var name: [UInt8]
    /// `"name":` as spliced into the row.
    var member: [UInt8]
    var headerName: String
    var value: Value
  }

  /// The transform, for the events rendered as envelopes and given to it.
  let transform: ExtractNewRecordState
  /// `add.fields` in order, without those the envelope does not have (the transform leaves
  /// them out too).
  let fields: [Added]
  let headers: [Added]
  /// Whether every event goes through the transform (see the type's comment).
  let everyEventThroughTransform: Bool
  /// Whether a field or header needs the envelope's `ts_ms`.
  let usesEventTime: Bool

  /// Nil when `transform` is not `unwrap`, or names a part of the envelope not fused.
  init?(_ transform: any Transform) {
    // `route.by.field` changes the topic, which the snapshot's replay filter reads as the
    // table's (the partition a key went to): left to the chain, after that filter.
    guard let unwrap = transform as? ExtractNewRecordState, unwrap.routeByField == nil else {
      return nil
    }
    var fields: [Added] = []
    var headers: [Added] = []
    for (list, into) in [(unwrap.fields, 0), (unwrap.headers, 1)] {
      for field in list {
        guard let found = Self.lookup(field) else { return nil }
        guard let value = found else { continue }
        let added = Added(
          name: field.nameBytes, member: field.member, headerName: field.newName, value: value)
        if into == 0 { fields.append(added) } else { headers.append(added) }
      }
    }
    self.transform = unwrap
    self.fields = fields
    self.headers = headers
    // The transform's byte path declines two added members of one name (`__deleted` included).
    var names = fields.map(\.name)
    if unwrap.deletes == .rewrite { names.append(Array(ExtractNewRecordState.deletedField.utf8)) }
    let repeated = Set(names).count != names.count
    everyEventThroughTransform = repeated
    usesEventTime = (fields + headers).contains { $0.value == .eventMilliseconds }
  }

  /// Whether the table's events can be rendered here: no column has the name of a member
  /// that is added to its rows.
  func renders(columns: [String]) -> Bool {
    guard !everyEventThroughTransform else { return false }
    var names = Set(fields.map(\.name))
    if transform.deletes == .rewrite {
      names.insert(Array(ExtractNewRecordState.deletedField.utf8))
    }
    return !columns.contains { names.contains(Array($0.utf8)) }
  }

  /// Where `field`'s value is in this connector's envelope (`before`, `after`, `source`, `op`,
  /// `ts_ms`; `source` an object): as ``EnvelopeField``'s lookup finds it — the block's
  /// member, else the envelope's own. `.some(nil)`: the envelope has no such member; nil: the
  /// field names a row or a block, which is not fused.
  private static func lookup(_ field: EnvelopeField) -> Value?? {
    switch field.block {
    case "before"?, "after"?:
      return nil
    case "source"?:
      if let member = SourceMember(rawValue: field.field) { return .some(.source(member)) }
      return own(field.field)
    case "transaction"?:
      // Null without transaction metadata; another member is the transform's to look up.
      return TransactionMember(rawValue: field.field).map { .some(.transaction($0)) }
    default:
      // No block, or one that is absent (`transaction`) or not an object (`op`): the
      // envelope's own member.
      return own(field.field)
    }
  }

  private static func own(_ name: String) -> Value?? {
    switch name {
    case "op": .some(.op)
    case "ts_ms": .some(.eventMilliseconds)
    case "ts_us": .some(.eventMicroseconds)
    case "ts_ns": .some(.eventNanoseconds)
    case "transaction": .some(.transactionBlock)
    case "before", "after", "source": nil
    default: .some(nil)
    }
  }
}
