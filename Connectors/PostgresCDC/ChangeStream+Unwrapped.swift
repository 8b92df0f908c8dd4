import SluiceCore

// MARK: - Events rendered unwrapped (a fused `unwrap`, FusedUnwrap)

extension ChangeStream {
  /// What a fused `unwrap` makes of an event rendered here.
  enum Unwrapped {
    case dropped
    case record(topic: String, value: [UInt8]?, headers: [RecordHeader])
  }

  /// The record `unwrap` would make of `event`'s envelope, written without the envelope: the
  /// row it keeps as the envelope has it, the added members after its last one (the
  /// transform's byte path, whose records these are byte for byte). Nil for an event the
  /// transform would not take that way (a delete without a row before, which it refuses):
  /// the caller gives its envelope to the transform.
  func unwrapped(_ event: Event, of table: Table, _ unwrap: FusedUnwrap) -> Unwrapped? {
    let transform = unwrap.transform
    let op = event.op.utf8Start.pointee
    let row: RowJSON
    var deleted: StaticString?
    if op == UInt8(ascii: "d") {
      switch transform.deletes {
      case .drop: return .dropped
      case .tombstone:
        return .record(topic: table.topic, value: nil, headers: headers(event, of: table, unwrap))
      case .rewrite:
        if case .none = event.before { return nil }
        row = event.before
        deleted = "\"true\""
      }
    } else {
      // A truncate has neither row: the transform drops it.
      guard case .row = event.after else {
        if case .none = event.before { return .dropped }
        return nil
      }
      row = event.after
      if transform.deletes == .rewrite { deleted = "\"false\"" }
    }
    let eventMilliseconds = unwrap.usesEventTime ? now() : 0
    var out = JSONWriter(capacity: row.estimatedSize(table) + 48 * (unwrap.fields.count + 1))
    write(row, of: table, to: &out)
    if deleted != nil || !unwrap.fields.isEmpty {
      out.bytes.removeLast()  // the row's `}`
      var first = out.bytes.last == UInt8(ascii: "{")
      if let deleted {
        if !first { out.byte(",") }
        out.raw(Self.deletedMember)
        out.raw(deleted)
        first = false
      }
      for field in unwrap.fields {
        if !first { out.byte(",") }
        first = false
        out.raw(field.member)
        write(field.value, of: event, table, eventMilliseconds: eventMilliseconds, to: &out)
      }
      out.byte("}")
    }
    return .record(
      topic: table.topic, value: out.bytes,
      headers: headers(event, of: table, unwrap, eventMilliseconds: eventMilliseconds))
  }

  private static let deletedMember = Array("\"\(ExtractNewRecordState.deletedField)\":".utf8)

  /// `add.headers`, each the text of its envelope member as the transform makes it.
  private func headers(
    _ event: Event, of table: Table, _ unwrap: FusedUnwrap, eventMilliseconds: Int64? = nil
  ) -> [RecordHeader] {
    guard !unwrap.headers.isEmpty else { return [] }
    let milliseconds = eventMilliseconds ?? (unwrap.usesEventTime ? now() : 0)
    return unwrap.headers.map { header in
      var json = JSONWriter(capacity: 32)
      write(header.value, of: event, table, eventMilliseconds: milliseconds, to: &json)
      return RecordHeader(
        name: header.headerName, value: ExtractNewRecordState.headerValue(fromJSON: json.bytes))
    }
  }

  /// An envelope member's JSON, exactly as ``envelope(_:_:eventMilliseconds:)`` writes it and
  /// the transform adds it.
  private func write(
    _ value: FusedUnwrap.Value, of event: Event, _ table: Table, eventMilliseconds: Int64,
    to out: inout JSONWriter
  ) {
    switch value {
    case .op:
      out.byte("\"")
      event.op.withUTF8Buffer { out.raw($0) }
      out.byte("\"")
    case .eventMilliseconds: out.number(eventMilliseconds)
    case .eventMicroseconds: out.number(eventMilliseconds &* 1000)
    case .eventNanoseconds: out.number(eventMilliseconds &* 1_000_000)
    case .null: out.raw("null")
    case .transactionBlock: Self.write(event.transaction, to: &out)
    case .transaction(let member):
      guard let block = event.transaction else { return out.null() }
      switch member {
      case .id: Self.writeTransactionID(xid: block.xid, lsn: block.lsn, to: &out)
      case .totalOrder: out.number(block.totalOrder)
      case .collectionOrder: out.number(block.collectionOrder)
      }
    case .source(let member):
      switch member {
      case .version: out.raw("\"sluice\"")
      case .connector: out.raw("\"postgresql\"")
      case .name: out.string(settings.connectorName)
      case .milliseconds: out.number(event.milliseconds)
      case .snapshot:
        // A streamed change's "false" stands for Debezium's null (``EnvelopeField``).
        if event.snapshot.withUTF8Buffer({ $0.elementsEqual("false".utf8) }) { return out.null() }
        out.byte("\"")
        event.snapshot.withUTF8Buffer { out.raw($0) }
        out.byte("\"")
      case .db: out.string(settings.database)
      case .sequence: writeSequence(of: event, to: &out)
      case .microseconds: out.number(event.microseconds)
      case .nanoseconds: out.number(event.nanoseconds)
      case .xmin, .origin, .originLSN: out.raw("null")
      case .schema: out.string(table.relation.schema)
      case .table: out.string(table.relation.name)
      case .txId: out.number(event.xid)
      case .lsn: out.number(event.lsn.value)
      }
    }
  }
}
