import SluiceCore

/// How a change becomes Debezium's event: the `before`/`after` rows, the key, the `source`
/// block and the envelope around them, or with a fused `unwrap` the transform's record.
/// Kept apart from ``ChangeStream``'s transitions so the wire format reads in one place.
extension ChangeStream {

  /// What goes in an envelope's `before` or `after`.
  enum RowJSON {
    case none
    /// The row as a JSON object; unchanged TOAST values come from `substitute` (the old row)
    /// when it has them, else they are Debezium's placeholder.
    case row(Row, substitute: Row?)
    /// Only the key columns (the old row of REPLICA IDENTITY DEFAULT or USING INDEX).
    case keyColumns(Row)

    /// `before`: the whole old row (REPLICA IDENTITY FULL) or only its key columns.
    static func old(_ old: RowChange.Old) -> RowJSON {
      old.isFull ? .row(old.row, substitute: nil) : .keyColumns(old.row)
    }

    /// About how many bytes its JSON takes, to size the event's buffer once.
    func estimatedSize(_ table: Table) -> Int {
      switch self {
      case .none: 4
      case .row(let row, _), .keyColumns(let row):
        row.bytes.count + table.columnKeysSize + 8 * row.count
      }
    }
  }

  /// A row's columns as JSON. A NULL in a column with a constant default is written as that
  /// default, as Debezium's events are through Kafka Connect's JSON converter
  /// (`replace.null.with.default`, true by default since Kafka 3.5), with or without schemas.
  func write(_ json: RowJSON, of table: Table, to out: inout JSONWriter) {
    switch json {
    case .none:
      out.null()
    case .row(let row, let substitute):
      out.byte("{")
      for i in 0..<row.count {
        if i > 0 { out.byte(",") }
        out.raw(table.columnKeys[i])
        if row.columns[i] == .unchangedToast, let substitute, i < substitute.count,
          substitute.hasText(i)
        {
          write(column: i, of: substitute, kind: table.kinds[i], to: &out)
        } else if row.columns[i] == .null, let value = table.defaultJSON(i) {
          out.raw(value)
        } else {
          write(column: i, of: row, kind: table.kinds[i], to: &out)
        }
      }
      out.byte("}")
    case .keyColumns(let row):
      // Debezium 3.x writes every column, null where the replica identity has no value.
      out.byte("{")
      for (i, column) in table.relation.columns.enumerated() {
        if i > 0 { out.byte(",") }
        out.raw(table.columnKeys[i])
        if column.isKey {
          write(column: i, of: row, kind: table.kinds[i], to: &out)
        } else if let value = table.defaultJSON(i) {
          out.raw(value)
        } else {
          out.null()
        }
      }
      out.byte("}")
    }
  }

  /// Debezium's key: `{"<pk column>": value, …}`; nil for tables without a key.
  func key(of row: Row, _ table: Table) -> [UInt8]? {
    guard !table.keyColumns.isEmpty else { return nil }
    var out = JSONWriter(capacity: 32 + table.keySchema.count)
    out.raw(table.keySchema)
    out.byte("{")
    for (n, i) in table.keyColumns.enumerated() {
      if n > 0 { out.byte(",") }
      out.raw(table.columnKeys[i])
      write(column: i, of: row, kind: table.kinds[i], to: &out)
    }
    out.byte("}")
    if !table.keySchema.isEmpty { out.byte("}") }
    return out.bytes
  }

  func write(
    column i: Int, of row: Row, kind: ColumnKind, to out: inout JSONWriter
  ) {
    switch row.columns[i] {
    case .null: out.null()
    case .unchangedToast:
      ValueConverter.writeUnavailable(as: kind, options: settings.conversion, to: &out)
    case .text(let range):
      // Through a buffer pointer: slices of the message retain it at every cut the
      // converters make, about ten a value.
      row.bytes[range].withUnsafeBufferPointer {
        ValueConverter.write($0, as: kind, options: settings.conversion, to: &out)
      }
    }
  }

  /// What an event is rendered from: the change and its `source` block's values.
  struct Event {
    var op: StaticString
    var before: RowJSON
    var after: RowJSON
    /// The commit time (the snapshot's time for reads), in microseconds.
    var microseconds: Int64
    /// Debezium's `source.snapshot`: "false" for streamed changes, "true" for snapshot reads.
    var snapshot: StaticString
    /// The commit before this change's, for Debezium's `source.sequence`.
    var lastCommitLSN: LSN?
    var xid: UInt64
    var lsn: LSN
    /// The `transaction` block; nil (null) without transaction metadata and for reads.
    var transaction: TransactionBlock? = nil
    /// The event's `source`, `transaction` and `op` already rendered (``sourceAndOp(_:_:)``):
    /// the same for every read of a table in a snapshot, so its reader renders it once.
    var renderedSourceAndOp: [UInt8]? = nil
    /// When Sluice made the event (the envelope's `ts_ms`); nil: now. A snapshot reader reads
    /// the clock once per batch rather than once per row.
    var madeMilliseconds: Int64? = nil

    /// `source.ts_ms`: the commit time in milliseconds.
    var milliseconds: Int64 { TemporalConversion.floorDivide(microseconds, 1000) }
    /// `source.ts_ns`: the commit time in nanoseconds (wrapping as Java's long would).
    var nanoseconds: Int64 { microseconds.multipliedReportingOverflow(by: 1000).partialValue }
  }

  /// Debezium's `source.sequence`: the last commit's LSN and this change's, as decimal strings
  /// in a JSON array, itself written as a JSON string.
  func writeSequence(of event: Event, to out: inout JSONWriter) {
    out.raw("\"[")
    if let lastCommitLSN = event.lastCommitLSN {
      out.raw("\\\"")
      out.number(lastCommitLSN.value)
      out.raw("\\\"")
    } else {
      out.raw("null")
    }
    out.raw(",\\\"")
    out.number(event.lsn.value)
    out.raw("\\\"]\"")
  }

  /// The record's topic, value and headers: the envelope, or with a fused `unwrap` what the
  /// transform would make of it; nil when the transform drops it.
  func render(_ event: Event, of table: Table, key: [UInt8]?) throws(ProtocolError)
    -> (topic: String, value: [UInt8]?, headers: [RecordHeader])?
  {
    guard let unwrap = settings.unwrap else {
      let value = envelope(table, event, eventMilliseconds: event.madeMilliseconds ?? now())
      return (table.topic, value, [])
    }
    if table.rendersUnwrapped {
      switch unwrapped(event, of: table, unwrap) {
      case .dropped?: return nil
      case .record(let topic, let value, let headers)?: return (topic, value, headers)
      case nil: break
      }
    }
    // Rendered as the envelope and given to the transform, so the record is the transform's.
    let value = envelope(table, event, eventMilliseconds: event.madeMilliseconds ?? now())
    var record = TransformRecord(topic: table.topic, key: key, value: value, timestamp: 0)
    do {
      guard try unwrap.transform.apply(to: &record) else { return nil }
    } catch {
      throw ProtocolError("the unwrap transform failed on a change: \(error.reason)")
    }
    return (record.topic, record.value.bytes, record.headers)
  }

  /// The Debezium 3.x envelope: before, after, source, transaction, op, and ts_ms, ts_us,
  /// ts_ns (`eventMilliseconds`, when Sluice made the event).
  func envelope(_ table: Table, _ event: Event, eventMilliseconds: Int64) -> [UInt8] {
    var out = JSONWriter(
      capacity: 160 + table.valueSchema.count
        + (event.renderedSourceAndOp?.count ?? 200 + table.sourceFields.count)
        + event.before.estimatedSize(table) + event.after.estimatedSize(table))
    out.raw(table.valueSchema)
    out.raw("{\"before\":")
    write(event.before, of: table, to: &out)
    out.raw(",\"after\":")
    write(event.after, of: table, to: &out)
    if let rendered = event.renderedSourceAndOp {
      out.raw(rendered)
    } else {
      writeSourceAndOp(table, event, to: &out)
    }
    Self.writeEventTime(eventMilliseconds, to: &out)
    out.byte("}")
    if !table.valueSchema.isEmpty { out.byte("}") }
    return out.bytes
  }

  /// The envelope's members after `after`, up to `op` and its value: what
  /// ``Event/renderedSourceAndOp`` holds.
  func sourceAndOp(_ table: Table, _ event: Event) -> [UInt8] {
    var out = JSONWriter(capacity: 256 + table.sourceFields.count)
    writeSourceAndOp(table, event, to: &out)
    return out.bytes
  }

  private func writeSourceAndOp(_ table: Table, _ event: Event, to out: inout JSONWriter) {
    out.raw(",\"source\":{\"version\":\"sluice\",\"connector\":\"postgresql\",\"name\":")
    out.string(settings.connectorName)
    out.raw(",\"ts_ms\":")
    out.number(event.milliseconds)
    out.raw(",\"snapshot\":\"")
    event.snapshot.withUTF8Buffer { out.raw($0) }
    out.raw("\",\"db\":")
    out.string(settings.database)
    out.raw(",\"sequence\":")
    writeSequence(of: event, to: &out)
    out.raw(",\"ts_us\":")
    out.number(event.microseconds)
    out.raw(",\"ts_ns\":")
    out.number(event.nanoseconds)
    out.raw(table.sourceFields)
    out.number(event.xid)
    out.raw(",\"lsn\":")
    out.number(event.lsn.value)
    out.raw(",\"xmin\":null,\"origin\":null,\"origin_lsn\":null},\"transaction\":")
    Self.write(event.transaction, to: &out)
    out.raw(",\"op\":\"")
    event.op.withUTF8Buffer { out.raw($0) }
    out.byte("\"")
  }

  /// `,"ts_ms":…,"ts_us":…,"ts_ns":…`: one time in three units. After a positive number of
  /// milliseconds the others are its digits and zeros, so it is converted to digits once.
  static func writeEventTime(_ milliseconds: Int64, to out: inout JSONWriter) {
    out.raw(",\"ts_ms\":")
    guard milliseconds > 0, milliseconds < Int64.max / 1_000_000 else {
      out.number(milliseconds)
      out.raw(",\"ts_us\":")
      out.number(milliseconds &* 1000)
      out.raw(",\"ts_ns\":")
      out.number(milliseconds &* 1_000_000)
      return
    }
    let start = out.bytes.count
    out.number(milliseconds)
    let digits = out.bytes.count - start
    out.raw(",\"ts_us\":")
    for i in 0..<digits { out.bytes.append(out.bytes[start + i]) }
    out.raw("000,\"ts_ns\":")
    for i in 0..<digits { out.bytes.append(out.bytes[start + i]) }
    out.raw("000000")
  }

}
